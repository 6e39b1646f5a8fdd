import { errorLine } from '../errors/error-line.ts';
import { destroyUnderLease } from '../fly/destroy-under-lease.ts';
import type { Logger } from '../logger.ts';
import type { ProvisionDeps } from './provision-types.ts';

/**
 * Destroys a Fly machine made for a row that ended (or is being given up), under the machine's
 * lease like every change vyxbot makes. Undefined when it is gone; else why not — someone else
 * holds its lease (named), or Fly failed — logged, and returned for the caller to hand the
 * provisioning to recovery, which tries again on its next tick.
 */
export async function cleanUpLeftover(
  deps: Pick<ProvisionDeps, 'fly' | 'config' | 'owner'>,
  machineId: string,
  flyMachineId: string,
  log: Logger,
  options: { app?: string; deadlineMs?: number } = {},
): Promise<string | undefined> {
  const target = {
    app: options.app ?? deps.config.flyApp,
    flyId: flyMachineId,
    description: `vyxbot cleanup of ${machineId} on ${deps.owner}`,
    ...(options.deadlineMs === undefined ? {} : { deadlineMs: options.deadlineMs }),
  };
  const why = await destroyUnderLease(deps.fly, log, target).then(
    (r) => ('held' in r ? `cleanup of ${flyMachineId} left to recovery: lease held by ${r.held}` : undefined),
    (err: unknown) => `cleanup of ${flyMachineId} left to recovery: ${errorLine(err)}`,
  );
  if (why) log.warn({ machineId, flyMachineId }, why);
  return why;
}
