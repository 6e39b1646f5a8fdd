import type { CloudMachine, SlackIdentity } from '../store/store-schemas.ts';

export type Authorization = { ok: true; identity: SlackIdentity } | { ok: false; reason: string };

export const NOT_LINKED =
  'You are not linked to a vyx user yet, so I can’t act for you. Ask an admin to run `/vyx link @you <vyx-user-id>`.';

/**
 * Deny by default: an unlinked Slack user may do nothing but ask for help; a member acts on their
 * own machines; an admin on anyone's, and may link people.
 */
export function authorize(
  identity: SlackIdentity | null,
  need: { admin?: boolean; machine?: CloudMachine; verb?: string },
): Authorization {
  if (!identity) return { ok: false, reason: NOT_LINKED };
  if (identity.role === 'admin') return { ok: true, identity };
  if (need.admin) return { ok: false, reason: `Only admins can ${need.verb ?? 'do that'}.` };
  if (need.machine && need.machine.user_id !== identity.user_id) {
    return {
      ok: false,
      reason: `Machine \`${need.machine.machine_id}\` belongs to someone else; only its owner or an admin can ${need.verb ?? 'do that'}.`,
    };
  }
  return { ok: true, identity };
}
