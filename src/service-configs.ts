import type { Env } from './config.ts';

export type SupabaseConfig =
  | { mode: 'real'; url: string; serviceKey: string }
  | { mode: 'twin'; port: number; databaseUrl?: string; serviceKey?: string };

export type SlackConfig =
  | { mode: 'socket'; botToken: string; appToken: string }
  | { mode: 'http'; botToken: string; signingSecret: string }
  | { mode: 'twin' };

/** `real`: the server at `apiUrl` (Fly, or an emulator started alone); `twin`: an emulator started here. */
export type FlyConfig =
  | { mode: 'real'; apiUrl: string; token: string }
  | { mode: 'twin'; port: number; token?: string };

/** Fly's Machines API when production names none. */
export const FLY_API_DEFAULT = 'https://api.machines.dev';

/**
 * Each service real (configured, or in production) or a twin started here. Runs once
 * credentialProblems found none: a real service has its credentials.
 */
export function serviceConfigs(e: Env): { supabase: SupabaseConfig; slack: SlackConfig; fly: FlyConfig } {
  const supabase: SupabaseConfig = e.SUPABASE_URL
    ? { mode: 'real', url: e.SUPABASE_URL, serviceKey: e.SUPABASE_SERVICE_KEY! }
    : {
        mode: 'twin',
        port: e.SUPABASE_LOCAL_PORT,
        ...(e.DATABASE_URL ? { databaseUrl: e.DATABASE_URL } : {}),
        ...(e.SUPABASE_SERVICE_KEY ? { serviceKey: e.SUPABASE_SERVICE_KEY } : {}),
      };
  const slack: SlackConfig = e.SLACK_APP_TOKEN
    ? { mode: 'socket', botToken: e.SLACK_BOT_TOKEN!, appToken: e.SLACK_APP_TOKEN }
    : e.SLACK_SIGNING_SECRET
      ? { mode: 'http', botToken: e.SLACK_BOT_TOKEN!, signingSecret: e.SLACK_SIGNING_SECRET }
      : { mode: 'twin' };
  // A URL given means that server (Fly, or an emulator started alone with `npm run twin:fly`);
  // production without one means Fly itself; otherwise an emulator starts here.
  const fly: FlyConfig =
    e.FLY_API_URL || e.VYX_MODE === 'production'
      ? { mode: 'real', apiUrl: e.FLY_API_URL ?? FLY_API_DEFAULT, token: e.FLY_API_TOKEN! }
      : { mode: 'twin', port: e.FLY_LOCAL_PORT, ...(e.FLY_API_TOKEN ? { token: e.FLY_API_TOKEN } : {}) };
  return { supabase, slack, fly };
}
