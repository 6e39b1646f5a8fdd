import type { Config } from '../config.ts';
import type { MachineCredentials } from '../provision/provision-types.ts';

export interface MachineCredentialPlan {
  /** Set: each machine gets its own token. Unset: machines get the service key. */
  credentials?: MachineCredentials;
  /** Why machines get the service_role key, for the start-up log and /readyz. */
  notice?: string;
}

/**
 * Least privilege for machines: with the project's JWT secret and anon key (the twin has both) each
 * machine gets a token that can only report, heartbeat and read its own row. Without them — or
 * with MACHINE_SUPABASE_SERVICE_KEY set on purpose — machines get a service_role key, and the
 * operator is told.
 */
export function planMachineCredentials(
  config: Pick<Config, 'machineSupabaseServiceKey' | 'supabaseJwtSecret' | 'supabaseAnonKey'>,
  twin: { jwtSecret: string; anonKey: string } | undefined,
): MachineCredentialPlan {
  if (config.machineSupabaseServiceKey) {
    return {
      notice:
        'MACHINE_SUPABASE_SERVICE_KEY is set: every machine gets that key, which can read and write every row. Unset it and set SUPABASE_JWT_SECRET and SUPABASE_ANON_KEY so each machine gets its own token.',
    };
  }
  if (config.supabaseJwtSecret && config.supabaseAnonKey) {
    return { credentials: { jwtSecret: config.supabaseJwtSecret, anonKey: config.supabaseAnonKey } };
  }
  if (twin) return { credentials: { jwtSecret: twin.jwtSecret, anonKey: twin.anonKey } };
  return {
    notice:
      'SUPABASE_JWT_SECRET and SUPABASE_ANON_KEY are not set: machines get the service_role key, which can read and write every row. Set both (Supabase → Project Settings → API) so each machine gets its own token.',
  };
}
