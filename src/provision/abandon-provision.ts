import { abandonedAtShutdown } from '../diagnose/abandoned-at-shutdown.ts';
import { errorLine } from '../errors/error-line.ts';
import type { Logger } from '../logger.ts';
import type { ProvisionDeps, ProvisionRequest } from './provisioner.ts';
import { recordFailure } from './record-failure.ts';

/** A provisioning cut short by shutdown, and what was done about it. */
export interface AbandonedProvision {
  userId: string;
  slackUserId: string;
  /** The row: marked failed, or (with `kept`) left as its runtime reported it. Absent: no row yet. */
  machineId?: string;
  /** The runtime had already reported: the row was left as it was (e.g. `running`). */
  kept?: string;
  /** The half-made Fly machine destroyed. */
  flyMachineId?: string;
  /** The user was told (false: Slack could not be reached). */
  told: boolean;
}

/**
 * Gives up on a provisioning still running at the shutdown deadline: its half-made Fly machine
 * destroyed, its row failed with a diagnosis (recordFailure), its user told privately to start
 * again. A row its runtime already reported on is left as it is.
 */
export async function abandonProvision(
  deps: Pick<ProvisionDeps, 'store' | 'fly' | 'slack' | 'now' | 'config' | 'metrics'>,
  log: Logger,
  req: ProvisionRequest,
  why: string,
): Promise<AbandonedProvision> {
  const { store, fly, slack } = deps;
  const out: AbandonedProvision = { userId: req.userId, slackUserId: req.slackUserId, told: false };
  const at = deps.now();
  try {
    const row = await store.getActiveMachine(req.userId);
    // Its runtime already reported in (Fly's answer was what we waited for): nothing to undo.
    if (row && row.status !== 'starting') {
      out.machineId = row.machine_id;
      out.kept = row.status;
    }
    if (row && row.status === 'starting') {
      out.machineId = row.machine_id;
      if (row.fly_machine_id) {
        await fly
          .destroy(row.fly_app ?? deps.config.flyApp, row.fly_machine_id, { force: true, deadlineMs: 3_000 })
          .then(() => {
            out.flyMachineId = row.fly_machine_id!;
          })
          .catch((err: unknown) =>
            log.warn(
              { err: errorLine(err), machineId: row.machine_id },
              'could not destroy the half-made machine',
            ),
          );
      }
      const diagnosis = abandonedAtShutdown({
        why,
        flyMachineId: row.fly_machine_id,
        destroyed: out.flyMachineId !== undefined,
        now: at,
      });
      await recordFailure(store, row.machine_id, diagnosis);
      deps.metrics?.diagnoses.inc({ code: diagnosis.code, source: 'provision' });
    }
  } catch (err) {
    log.error({ err: errorLine(err), userId: req.userId }, 'could not mark an abandoned provisioning failed');
  }
  const text = out.kept
    ? `vyxbot restarted while it was following your machine \`${out.machineId}\`; the machine is *${out.kept}* and nothing was lost.`
    : out.machineId
      ? `:x: vyxbot restarted while it was starting your machine \`${out.machineId}\`, before it was up. I marked it failed${out.flyMachineId ? ' and removed its half-made Fly machine' : ''}; nothing is left running. Run \`/vyx start\` again in a few seconds.`
      : ':x: vyxbot restarted before it could start your machine; nothing was created. Run `/vyx start` again in a few seconds.';
  await slack
    .ephemeral({ channel: req.channel, user: req.slackUserId, text })
    .then(() => {
      out.told = true;
    })
    .catch((err: unknown) => log.warn({ err: errorLine(err) }, 'could not tell the user'));
  log.warn({ ...out, requestId: req.requestId }, 'provisioning given up at shutdown');
  return out;
}
