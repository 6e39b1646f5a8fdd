import { randomBytes } from 'node:crypto';
import type { SlackApiServer } from '../../src/local/slack-twin/slack-api-server.ts';
import { sign } from '../../testkit/slack-signature.ts';

/** A signed `/vyx …` to the bot's /slack/events, as Slack sends it. */
export async function sendCommand(
  baseUrl: string,
  signingSecret: string,
  o: {
    text: string;
    team: string;
    channel: string;
    user: string;
    responseUrl: string;
    /** The Slack twin: shows the ack's body to the person, as Slack does. */
    slack?: Pick<SlackApiServer, 'commandAck'>;
  },
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
  const text = await r.text();
  if (o.slack && r.status === 200 && text !== '') {
    const json = r.headers.get('content-type')?.includes('application/json');
    o.slack.commandAck({ channel: o.channel, user: o.user }, json ? JSON.parse(text) : text);
  }
  return r.status;
}
