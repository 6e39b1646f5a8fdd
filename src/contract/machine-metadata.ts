/**
 * Fly machine metadata the bot writes on create, so the watcher can tie a machine to its row (and
 * find machines that have no row: ORPHAN_MACHINE).
 */
export const METADATA_MACHINE_ID = 'vyx_machine_id';
export const METADATA_USER_ID = 'vyx_user_id';
export const METADATA_MANAGED_BY = 'vyx_managed_by';
export const MANAGED_BY_VYXBOT = 'vyxbot';
/** The key each create carries so an ambiguous create can be found instead of repeated (and recovery can find it). */
export const METADATA_CREATE_KEY = 'vyx_create_key';

export function machineMetadata(machineId: string, userId: string): Record<string, string> {
  return {
    [METADATA_MACHINE_ID]: machineId,
    [METADATA_USER_ID]: userId,
    [METADATA_MANAGED_BY]: MANAGED_BY_VYXBOT,
  };
}
