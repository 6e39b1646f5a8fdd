/**
 * What Slack puts in a Socket Mode envelope when a person types `/vyx …` (`slash_commands`: the
 * same fields as the HTTP form body) or presses a button (`interactive`: a `block_actions`
 * payload). Shapes from Bolt's `SlashCommand` and `BlockAction` types.
 */
import type { SlackIdentity } from './slack-identity.ts';
import type { SlackMessage } from './slack-workspace.ts';

export function slashCommandPayload(
  identity: SlackIdentity,
  c: {
    text: string;
    user: string;
    channel: { id: string; name: string };
    responseUrl: string;
    triggerId: string;
  },
): Record<string, unknown> {
  return {
    token: 'deprecated-verification-token',
    team_id: identity.teamId,
    team_domain: identity.teamDomain,
    channel_id: c.channel.id,
    channel_name: c.channel.name,
    user_id: c.user,
    user_name: c.user === identity.userId ? identity.userName : c.user.toLowerCase(),
    command: '/vyx',
    text: c.text,
    api_app_id: identity.appId,
    is_enterprise_install: 'false',
    response_url: c.responseUrl,
    trigger_id: c.triggerId,
  };
}

export function blockActionsPayload(
  identity: SlackIdentity,
  b: {
    actionId: string;
    value: string;
    channel: string;
    channelName: string;
    messageTs: string;
    user: string;
    message: SlackMessage | undefined;
    responseUrl: string;
    triggerId: string;
  },
): Record<string, unknown> {
  // The block that holds the button, as Slack names it in the payload.
  const block = b.message?.blocks?.find(
    (bl) =>
      bl.type === 'actions' &&
      Array.isArray(bl.elements) &&
      (bl.elements as { action_id?: string }[]).some((e) => e.action_id === b.actionId),
  );
  return {
    type: 'block_actions',
    user: {
      id: b.user,
      username: b.user.toLowerCase(),
      name: b.user.toLowerCase(),
      team_id: identity.teamId,
    },
    api_app_id: identity.appId,
    token: 'deprecated-verification-token',
    container: { type: 'message', message_ts: b.messageTs, channel_id: b.channel, is_ephemeral: false },
    trigger_id: b.triggerId,
    team: { id: identity.teamId, domain: identity.teamDomain },
    channel: { id: b.channel, name: b.channelName },
    message: b.message ?? { ts: b.messageTs },
    response_url: b.responseUrl,
    actions: [
      {
        type: 'button',
        action_id: b.actionId,
        block_id: block?.block_id ?? 'actions',
        value: b.value,
        text: { type: 'plain_text', text: b.actionId },
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  };
}
