import { diagnose as runDiagnosis } from '../diagnose/diagnose.ts';
import { gatherEvidence } from '../evidence/gather-evidence.ts';
import { attachLogEvidence } from '../evidence/log-evidence.ts';
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
  const input = gathered.inputs[0]!;
  const d = runDiagnosis(input);
  const healthy = machine.status === 'running' && d.code === 'UNKNOWN';
  // The machine's last lines on the card (crash, OOM, silence, id, unknown), as the watcher's cards carry them.
  if (!healthy) {
    await attachLogEvidence(
      [{ d, input }],
      { logs: ctx.deps.logs, defaultApp: config.flyApp, secretValues: ctx.deps.secretValues() },
      { now: now() },
    );
  }
  await ctx.reply(
    healthy
      ? `Machine \`${machine.machine_id}\` is running and nothing looks wrong.`
      : diagnosisCard(d, {
          machineId: machine.machine_id,
          ...(config.runbookBaseUrl ? { runbookBaseUrl: config.runbookBaseUrl } : {}),
          buttons: d.evidence.some((e) => e.source === 'fly logs')
            ? ['destroy', 'retry', 'logs']
            : ['destroy', 'retry'],
        }),
  );
  return { outcome: 'ok', machineId: machine.machine_id, detail: d.code };
}
