import { diagnose as runDiagnosis } from '../diagnose/diagnose.ts';
import { gatherEvidence } from '../evidence/gather-evidence.ts';
import { destroyedCard } from '../slack/cards/destroyed-card.ts';
import { diagnosisCard } from '../slack/cards/diagnosis-card.ts';
import type { CommandContext, Outcome } from './command-context.ts';
import { machineInReach } from './find-machine.ts';

/** `/vyx diagnose <machine>`: the catalogue run now on live evidence, shown privately. */
export async function diagnoseCommand(ctx: CommandContext, machineId: string | undefined): Promise<Outcome> {
  const found = await machineInReach(ctx, machineId, 'diagnose it');
  if ('outcome' in found) return found.outcome;
  const { machine } = found;
  const { fly, registry, config, now } = ctx.deps;
  if (machine.status === 'destroyed') {
    // Nothing is left to diagnose, and nothing to destroy: say so, and when.
    await ctx.reply(destroyedCard(machine, now()));
    return { outcome: 'ok', machineId: machine.machine_id, detail: 'destroyed' };
  }
  const gathered = await gatherEvidence(
    [machine],
    { fly, registry, defaultApp: config.flyApp },
    { now: now(), stuckAfterS: config.stuckAfterS },
  );
  const failed = gathered.failedApps.get(machine.fly_app ?? config.flyApp);
  if (failed) throw failed;
  const d = runDiagnosis(gathered.inputs[0]!);
  const healthy = machine.status === 'running' && d.code === 'UNKNOWN';
  await ctx.reply(
    healthy
      ? `Machine \`${machine.machine_id}\` is running and nothing looks wrong.`
      : diagnosisCard(d, {
          machineId: machine.machine_id,
          ...(config.runbookBaseUrl ? { runbookBaseUrl: config.runbookBaseUrl } : {}),
          buttons: ['destroy', 'retry'],
        }),
  );
  return { outcome: 'ok', machineId: machine.machine_id, detail: d.code };
}
