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

/**
 * `app_home_opened` as an Events API `event_callback` (the Socket Mode `events_api` payload, and the
 * JSON body Slack POSTs over HTTP). `view` is the Home tab published before, if any.
 */
export function appHomeOpenedPayload(
  identity: SlackIdentity,
  e: { user: string; view?: Record<string, unknown> | undefined; now: number },
): Record<string, unknown> {
  const eventTs = (e.now / 1000).toFixed(6);
  return {
    token: 'deprecated-verification-token',
    team_id: identity.teamId,
    api_app_id: identity.appId,
    event: {
      type: 'app_home_opened',
      user: e.user,
      channel: `D${e.user.slice(1)}`,
      tab: 'home',
      ...(e.view ? { view: e.view } : {}),
      event_ts: eventTs,
    },
    type: 'event_callback',
    event_id: `Ev${Math.floor(e.now).toString(36).toUpperCase()}${Math.floor(Math.random() * 1e6)}`,
    event_time: Math.floor(e.now / 1000),
    authorizations: [
      {
        enterprise_id: null,
        team_id: identity.teamId,
        user_id: identity.botUserId,
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
  };
}

/** What a person entered in a modal: per input block_id, the chosen option's value or the typed text. */
export type ViewAnswers = Record<string, string>;

/**
 * `state.values` as Slack builds it from a modal's input blocks: `{ [block_id]: { [action_id]:
 * { type, value | selected_option } } }`. A select takes its option by value (the option object is
 * the view's own; a value no option has is sent as given, as a stale or forged payload would be).
 */
export function viewStateValues(
  view: { blocks: Record<string, unknown>[] },
  answers: ViewAnswers,
): Record<string, Record<string, unknown>> {
  const values: Record<string, Record<string, unknown>> = {};
  for (const block of view.blocks) {
    if (block.type !== 'input') continue;
    const element = block.element as Record<string, unknown>;
    const blockId = String(block.block_id);
    const actionId = String(element.action_id);
    const answer = answers[blockId];
    if (element.type === 'static_select') {
      const options = (element.options ?? []) as { text: unknown; value: string }[];
      const chosen =
        answer === undefined
          ? (element.initial_option as { text: unknown; value: string } | undefined)
          : (options.find((o) => o.value === answer) ?? {
              text: { type: 'plain_text', text: answer },
              value: answer,
            });
      values[blockId] = { [actionId]: { type: 'static_select', selected_option: chosen ?? null } };
    } else {
      const value = answer ?? (element.initial_value as string | undefined) ?? null;
      values[blockId] = { [actionId]: { type: String(element.type), value } };
    }
  }
  return values;
}

/** A `view_submission` of `view` with the person's answers (Socket Mode `interactive`, or HTTP `payload=`). */
export function viewSubmissionPayload(
  identity: SlackIdentity,
  s: {
    user: string;
    view: Record<string, unknown> & { blocks: Record<string, unknown>[] };
    answers: ViewAnswers;
    triggerId: string;
  },
): Record<string, unknown> {
  const { user: _user, ...view } = s.view;
  return {
    type: 'view_submission',
    team: { id: identity.teamId, domain: identity.teamDomain },
    user: {
      id: s.user,
      username: s.user.toLowerCase(),
      name: s.user.toLowerCase(),
      team_id: identity.teamId,
    },
    api_app_id: identity.appId,
    token: 'deprecated-verification-token',
    trigger_id: s.triggerId,
    view: { ...view, state: { values: viewStateValues(s.view, s.answers) } },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
}
