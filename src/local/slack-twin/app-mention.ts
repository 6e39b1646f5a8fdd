/**
 * A person writing "@vyx …" in a channel, as Slack delivers it: the message lands in the channel
 * (a thread reply when `threadTs` is given) and the app gets an `app_mention` event in Slack's
 * Events API wrapper (`event_callback`, a unique `event_id`), over Socket Mode (`events_api`
 * envelope) or as the body of an HTTP POST. Shape: docs.slack.dev/reference/events/app_mention.
 */
import { randomBytes } from 'node:crypto';
import type { SlackApiServer } from './slack-api-server.ts';
import type { SlackMessage } from './slack-workspace.ts';
import type { EnvelopeRecord } from './socket-mode-hub.ts';

export interface Mention {
  /** What follows the mention, e.g. `how do I start a machine?`. */
  text: string;
  user?: string;
  channel?: string;
  threadTs?: string;
}

/** Posts the person's message and answers the Events API body Slack would send for it. */
export function appMentionBody(
  slack: SlackApiServer,
  m: Mention,
): { message: SlackMessage; body: Record<string, unknown> } {
  const { identity, workspace } = slack;
  const channel =
    workspace.resolveChannel(m.channel ?? identity.channelId)?.id ?? m.channel ?? identity.channelId;
  const user = m.user ?? identity.userId;
  const text = `<@${identity.botUserId}> ${m.text}`;
  const message = workspace.post({
    channel,
    user,
    text,
    team: identity.teamId,
    ...(m.threadTs ? { thread_ts: m.threadTs } : {}),
  });
  const event = {
    type: 'app_mention',
    user,
    text,
    ts: message.ts,
    channel,
    event_ts: message.ts,
    team: identity.teamId,
    ...(message.thread_ts && message.thread_ts !== message.ts ? { thread_ts: message.thread_ts } : {}),
  };
  const body = {
    token: 'deprecated-verification-token',
    team_id: identity.teamId,
    api_app_id: identity.appId,
    event,
    type: 'event_callback',
    event_id: `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [
      { team_id: identity.teamId, user_id: identity.botUserId, is_bot: true, is_enterprise_install: false },
    ],
    is_ext_shared_channel: false,
  };
  return { message, body };
}

/** The same mention delivered over Socket Mode. */
export function deliverAppMention(
  slack: SlackApiServer,
  m: Mention,
): { message: SlackMessage; envelope: EnvelopeRecord } {
  if (!slack.socketMode) throw new Error('Socket Mode is off: start the Slack twin with an appToken');
  const { message, body } = appMentionBody(slack, m);
  return { message, envelope: slack.socketMode.deliver('events_api', body) };
}
