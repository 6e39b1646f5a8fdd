import { machineCredentialProblems } from './store/supabase-jwt.ts';

/**
 * The credentials the environment gives, checked before any service is asked. `missing`: what
 * production requires and is not set (CONFIG_MISSING); `problems`: a credential without the one it
 * needs, or of the wrong kind (CONFIG_INVALID).
 */
export function credentialProblems(env: NodeJS.ProcessEnv): { missing: string[]; problems: string[] } {
  const problems: string[] = [];
  const has = (name: string) => (env[name] ?? '').trim() !== '';
  const production = (env.VYX_MODE ?? '').trim() === 'production';
  // Production: every credential present, or one line naming each one missing.
  const missing: string[] = [];
  if (production) {
    for (const name of ['SUPABASE_URL', 'SUPABASE_SERVICE_KEY', 'SLACK_BOT_TOKEN', 'FLY_API_TOKEN']) {
      if (!has(name)) missing.push(name);
    }
    if (!has('SLACK_APP_TOKEN') && !has('SLACK_SIGNING_SECRET')) {
      missing.push('SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP)');
    }
  } else {
    if (has('SUPABASE_URL') && !has('SUPABASE_SERVICE_KEY')) {
      problems.push('SUPABASE_SERVICE_KEY is missing: it is required when SUPABASE_URL is set');
    }
    if ((has('SLACK_APP_TOKEN') || has('SLACK_SIGNING_SECRET')) && !has('SLACK_BOT_TOKEN')) {
      problems.push(
        'SLACK_BOT_TOKEN is missing: it is required with SLACK_APP_TOKEN or SLACK_SIGNING_SECRET',
      );
    }
    if (has('SLACK_BOT_TOKEN') && !has('SLACK_APP_TOKEN') && !has('SLACK_SIGNING_SECRET')) {
      problems.push(
        'SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP) is missing: one is required with SLACK_BOT_TOKEN',
      );
    }
    if (has('FLY_API_URL') && !has('FLY_API_TOKEN')) {
      problems.push(
        'FLY_API_TOKEN is missing: it is required with FLY_API_URL (npm run twin:fly prints the token it accepts)',
      );
    }
  }
  problems.push(...machineCredentialProblems(env.SUPABASE_JWT_SECRET?.trim(), env.SUPABASE_ANON_KEY?.trim()));
  // A token of the wrong kind (the two Slack tokens swapped, a user token) is caught before Slack is asked.
  const prefix = (name: string, want: string, what: string) => {
    const v = (env[name] ?? '').trim();
    if (v !== '' && !v.startsWith(want)) {
      const got = /^(xox[a-z]|xapp)-/.exec(v)?.[0];
      problems.push(
        `${name} should be ${what} starting ${want}${got ? ` (it starts ${got}: ${got === 'xapp-' ? 'is it SLACK_APP_TOKEN?' : got === 'xoxb-' ? 'is it SLACK_BOT_TOKEN?' : 'a different kind of token'})` : ''}`,
      );
    }
  };
  prefix('SLACK_BOT_TOKEN', 'xoxb-', 'a bot token');
  prefix('SLACK_APP_TOKEN', 'xapp-', 'an app-level token');
  return { missing, problems };
}
