/**
 * The ids of the local Slack workspace. They follow Slack's id patterns (as in the Web API
 * OpenAPI spec: `C…`, `U…`, `T…`, `B…`, `A…` followed by upper-case letters and digits), so the
 * twin's answers validate against the spec and code that checks id shapes sees real-looking ids.
 */
export interface SlackIdentity {
  teamId: string;
  teamDomain: string;
  /** The person at the shell. */
  userId: string;
  userName: string;
  /** The channel the shell types into. */
  channelId: string;
  channelName: string;
  /** The bot (what auth.test answers). */
  botUserId: string;
  botId: string;
  botName: string;
  appId: string;
}

export const LOCAL_SLACK_IDENTITY: Readonly<SlackIdentity> = Object.freeze({
  teamId: 'T0LOCAL001',
  teamDomain: 'vyx-local',
  userId: 'U0LOCAL001',
  userName: 'local',
  channelId: 'C0VYXLOCAL',
  channelName: 'vyx-local',
  botUserId: 'U0VYXBOT01',
  botId: 'B0VYXBOT01',
  botName: 'vyx',
  appId: 'A0VYXLOCAL',
});

/** The author fields of a message the bot posts (`user`, `bot_id`, `app_id`, `team`), as Slack fills them. */
export function botAuthor(identity: SlackIdentity) {
  return { user: identity.botUserId, bot_id: identity.botId, app_id: identity.appId, team: identity.teamId };
}

/** The bot token the twin accepts unless told otherwise. */
export const LOCAL_SLACK_BOT_TOKEN = 'xoxb-local-twin-token';
