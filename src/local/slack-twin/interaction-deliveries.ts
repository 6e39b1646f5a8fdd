/**
 * The people's side of commands and buttons, for the Slack twin: `/vyx <text>` and a button press
 * delivered over Socket Mode as Slack delivers them, each with its response_url and trigger id.
 */

import type { ResponseUrlOrigin } from './response-urls.ts';
import type { SlackIdentity } from './slack-identity.ts';
import type { SlackViews } from './slack-views.ts';
import type { SlackWorkspace } from './slack-workspace.ts';
import type { EnvelopeRecord, SocketModeHub } from './socket-mode-hub.ts';
import { blockActionsPayload, slashCommandPayload } from './socket-mode-payloads.ts';

/** A slash command or a button press as a person would make it (Socket Mode delivery). */
export interface TwinCommand {
  text: string;
  user?: string;
  channel?: string;
}
export interface TwinButton {
  actionId: string;
  value: string;
  /** The message holding the button. */
  channel: string;
  messageTs: string;
  user?: string;
}

export interface InteractionDeliveries {
  /** Delivers `/vyx <text>` over Socket Mode, as Slack does when a person types it. */
  command(c: TwinCommand): EnvelopeRecord;
  /** Delivers a `block_actions` press of a button over Socket Mode. */
  pressButton(b: TwinButton): EnvelopeRecord;
}

export function createInteractionDeliveries(o: {
  identity: SlackIdentity;
  workspace: SlackWorkspace;
  views: SlackViews;
  createResponseUrl: (origin: ResponseUrlOrigin) => string;
  hub: () => SocketModeHub;
}): InteractionDeliveries {
  const { identity, workspace, views, createResponseUrl } = o;
  return {
    command(c) {
      const user = c.user ?? identity.userId;
      const channel = workspace.resolveChannel(c.channel ?? identity.channelId);
      const channelId = channel?.id ?? c.channel ?? identity.channelId;
      return o.hub().deliver(
        'slash_commands',
        slashCommandPayload(identity, {
          text: c.text,
          user,
          channel: { id: channelId, name: channel?.name ?? 'unknown' },
          responseUrl: createResponseUrl({ kind: 'command', channel: channelId, user }),
          triggerId: views.issueTrigger(user),
        }),
      );
    },
    pressButton(b) {
      const user = b.user ?? identity.userId;
      return o.hub().deliver(
        'interactive',
        blockActionsPayload(identity, {
          ...b,
          user,
          channelName: workspace.resolveChannel(b.channel)?.name ?? 'unknown',
          message: workspace.message(b.channel, b.messageTs),
          responseUrl: createResponseUrl({ kind: 'message', channel: b.channel, user, ts: b.messageTs }),
          triggerId: views.issueTrigger(user),
        }),
      );
    },
  };
}
