/**
 * The bodies the shell hands to Bolt, shaped like Slack's: a slash command (as Slack POSTs it,
 * form fields) and a `block_actions` payload for a pressed button.
 */
import { blocksToLines } from './block-kit-text.ts';
import type { SlackApiServer } from './slack-api-server.ts';
import type { PressableButton } from './slack-renderer.ts';
import { apiMessage } from './slack-web-methods.ts';
import type { SlackMessage } from './slack-workspace.ts';

/** `/vyx start web-1` typed in the identity's channel, with a response_url pointing at the twin. */
export function slashCommandBody(
  slack: SlackApiServer,
  command: string,
  text: string,
): Record<string, unknown> {
  const id = slack.identity;
  return {
    token: 'local-verification-token',
    team_id: id.teamId,
    team_domain: id.teamDomain,
    channel_id: id.channelId,
    channel_name: id.channelName,
    user_id: id.userId,
    user_name: id.userName,
    command,
    text,
    api_app_id: id.appId,
    is_enterprise_install: 'false',
    response_url: slack.createResponseUrl({ kind: 'command', channel: id.channelId, user: id.userId }),
    // Issued by the twin: it opens one dialog, once, within 3 s, as Slack's do.
    trigger_id: slack.views.issueTrigger(id.userId),
  };
}

/** The identity's user pressing `button` on `message` (undefined for an ephemeral message). */
export function blockActionsBody(
  slack: SlackApiServer,
  button: PressableButton,
  message: SlackMessage | undefined,
  now: number,
): Record<string, unknown> {
  const id = slack.identity;
  return {
    type: 'block_actions',
    user: { id: id.userId, username: id.userName, name: id.userName, team_id: id.teamId },
    api_app_id: id.appId,
    token: 'local-verification-token',
    container: {
      type: 'message',
      message_ts: button.messageTs,
      channel_id: button.channel,
      is_ephemeral: button.ephemeral,
    },
    trigger_id: slack.views.issueTrigger(id.userId),
    team: { id: id.teamId, domain: id.teamDomain },
    enterprise: null,
    is_enterprise_install: false,
    channel: {
      id: button.channel,
      name: slack.workspace.resolveChannel(button.channel)?.name ?? button.channel,
    },
    ...(message ? { message: apiMessage(message) } : {}),
    state: { values: {} },
    response_url: slack.createResponseUrl(
      button.ephemeral
        ? { kind: 'ephemeral', channel: button.channel, user: id.userId, id: button.messageTs }
        : { kind: 'message', channel: button.channel, user: id.userId, ts: button.messageTs },
    ),
    actions: [
      {
        type: 'button',
        action_id: button.actionId,
        block_id: button.blockId,
        text: { type: 'plain_text', text: button.text, emoji: true },
        ...(button.value === undefined ? {} : { value: button.value }),
        ...(button.style === undefined ? {} : { style: button.style }),
        ...(button.url === undefined ? {} : { url: button.url }),
        action_ts: (now / 1000).toFixed(6),
      },
    ],
  };
}

/** Whether the message's blocks still hold the button (an update may have removed it). */
export function stillHas(
  blocks: Parameters<typeof blocksToLines>[0] | undefined,
  button: PressableButton,
): boolean {
  if (!blocks) return false;
  return blocksToLines(blocks, () => 0).buttons.some(
    (b) => b.blockId === button.blockId && b.actionId === button.actionId && b.value === button.value,
  );
}

/** The identity's user pressing `button` on their Home tab: a `view` container, no channel, no response_url. */
export function homeBlockActionsBody(
  slack: SlackApiServer,
  button: PressableButton,
  now: number,
): Record<string, unknown> {
  const id = slack.identity;
  const home = slack.views.home(id.userId);
  const { user: _user, ...view } = home ?? { user: '' };
  return {
    type: 'block_actions',
    user: { id: id.userId, username: id.userName, name: id.userName, team_id: id.teamId },
    api_app_id: id.appId,
    token: 'local-verification-token',
    container: { type: 'view', view_id: button.viewId },
    trigger_id: slack.views.issueTrigger(id.userId),
    team: { id: id.teamId, domain: id.teamDomain },
    enterprise: null,
    is_enterprise_install: false,
    view,
    actions: [
      {
        type: 'button',
        action_id: button.actionId,
        block_id: button.blockId,
        text: { type: 'plain_text', text: button.text, emoji: true },
        ...(button.value === undefined ? {} : { value: button.value }),
        ...(button.style === undefined ? {} : { style: button.style }),
        action_ts: (now / 1000).toFixed(6),
      },
    ],
  };
}
