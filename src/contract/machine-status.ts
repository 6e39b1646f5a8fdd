import { z } from 'zod';

/** The status vocabulary of `cloud_machines.status`, shared by the bot, the runtime and the SQL. */
export const MACHINE_STATUSES = [
  'starting',
  'running',
  'stopping',
  'stopped',
  'failed',
  'destroyed',
] as const;
export type MachineStatus = (typeof MACHINE_STATUSES)[number];
export const machineStatusSchema = z.enum(MACHINE_STATUSES);

/** At most one machine per user may be in one of these. */
export const ACTIVE_STATUSES: readonly MachineStatus[] = ['starting', 'running', 'stopping'];

export function isActiveStatus(status: string): boolean {
  return (ACTIVE_STATUSES as readonly string[]).includes(status);
}
