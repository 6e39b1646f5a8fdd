import { randomBytes } from 'node:crypto';
import { sign } from '../../testkit/slack-signature.ts';

/** A signed `/vyx …` to the bot's /slack/events, as Slack sends it. */
export async function sendCommand(
  baseUrl: string,
  signingSecret: string,
  o: { text: string; team: string; channel: string; user: string; responseUrl: string },
): Promise<number> {
  const body = new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: o.team,
    team_domain: 'vyx-test',
    channel_id: o.channel,
    channel_name: 'vyx-local',
    user_id: o.user,
    user_name: o.user.toLowerCase(),
    command: '/vyx',
    text: o.text,
    api_app_id: 'A0VYXLOCAL',
    response_url: o.responseUrl,
    trigger_id: `${Date.now()}.${randomBytes(4).toString('hex')}`,
  }).toString();
  const ts = Math.floor(Date.now() / 1000);
  const r = await fetch(`${baseUrl}/slack/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': sign(signingSecret, ts, body),
    },
    body,
  });
  await r.text();
  return r.status;
}
