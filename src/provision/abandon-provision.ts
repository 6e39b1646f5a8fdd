import { abandonedAtShutdown } from '../diagnose/abandoned-at-shutdown.ts';
import { errorLine } from '../errors/error-line.ts';
import type { Logger } from '../logger.ts';
import { cleanUpLeftover } from './clean-up-leftover.ts';
import type { ProvisionDeps, ProvisionRequest } from './provision-types.ts';
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
  /** Why it could not be destroyed (its lease held by someone else, Fly failing): left to recovery. */
  leftover?: string;
  /** The user was told (false: Slack could not be reached). */
  told: boolean;
}

/**
 * Gives up on a provisioning still running at the shutdown deadline: its half-made Fly machine
 * destroyed, its row failed with a diagnosis (recordFailure), its user told privately to start
 * again. A row its runtime already reported on is left as it is.
 */
export async function abandonProvision(
  deps: Pick<ProvisionDeps, 'store' | 'fly' | 'slack' | 'now' | 'config' | 'metrics' | 'owner'>,
  log: Logger,
  req: ProvisionRequest,
  why: string,
): Promise<AbandonedProvision> {
  const { store, slack } = deps;
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
        const leftover = await cleanUpLeftover(deps, row.machine_id, row.fly_machine_id, log, {
          app: row.fly_app ?? deps.config.flyApp,
          deadlineMs: 3_000,
        });
        if (leftover) out.leftover = leftover;
        else out.flyMachineId = row.fly_machine_id;
      }
      const diagnosis = abandonedAtShutdown({
        why,
        flyMachineId: row.fly_machine_id,
        destroyed: out.flyMachineId !== undefined,
        now: at,
      });
      await recordFailure(store, row.machine_id, diagnosis);
      deps.metrics?.diagnoses.inc({ code: diagnosis.code, source: 'provision' });
      if (out.leftover) {
        // Due at once: recovery (another replica's tick, or this one's after the restart) destroys it.
        await store.provisionStep(row.machine_id, deps.owner, 'created', {
          leaseS: 0,
          flyMachineId: row.fly_machine_id!,
          detail: out.leftover,
        });
      }
    }
  } catch (err) {
    log.error({ err: errorLine(err), userId: req.userId }, 'could not mark an abandoned provisioning failed');
  }
  const text = out.kept
    ? `vyxbot restarted while it was following your machine \`${out.machineId}\`; the machine is *${out.kept}* and nothing was lost.`
    : out.machineId
      ? `:x: vyxbot restarted while it was starting your machine \`${out.machineId}\`, before it was up. I marked it failed${out.flyMachineId ? ' and removed its half-made Fly machine' : ''}${out.leftover ? '; its half-made Fly machine is removed shortly' : '; nothing is left running'}. Run \`/vyx start\` again in a few seconds.`
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
