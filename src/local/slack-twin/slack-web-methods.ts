/**
 * The Web API methods the twin answers, with Slack's argument rules, error codes and success
 * shapes (as in the Web API OpenAPI spec): `auth.test`, `chat.postMessage`, `chat.update`,
 * `chat.delete`, `chat.postEphemeral`, `conversations.history`, `conversations.replies`,
 * `conversations.info`, and `views.open|publish|update` (slack-views.ts). Any other method answers
 * `unknown_method`, as Slack does.
 */
import { checkBlocks } from './block-kit-check.ts';
import type { ChannelRateLimiter } from './channel-rate-limiter.ts';
import { boolArg, jsonArg, stringArg } from './request-body.ts';
import { botAuthor, type SlackIdentity } from './slack-identity.ts';
import { compareTs } from './slack-ts-clock.ts';
import type { SlackViews } from './slack-views.ts';
import {
  type SlackBlock,
  type SlackChannel,
  type SlackMessage,
  type SlackWorkspace,
  WorkspaceError,
} from './slack-workspace.ts';

export interface MethodContext {
  workspace: SlackWorkspace;
  identity: SlackIdentity;
  /** Generates block_ids and action_ids for blocks that lack them. */
  nextId: () => string;
  rateLimiter: ChannelRateLimiter | undefined;
  /** Home tabs, modals and trigger ids. */
  views: SlackViews;
}

export interface MethodResult {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

export const SUPPORTED_METHODS = [
  'auth.test',
  'chat.postMessage',
  'chat.update',
  'chat.delete',
  'chat.postEphemeral',
  'conversations.history',
  'conversations.replies',
  'conversations.info',
  'views.open',
  'views.publish',
  'views.update',
] as const;

const MAX_TEXT = 40_000;

const fail = (error: string, extra: Record<string, unknown> = {}): MethodResult => ({
  status: 200,
  body: { ok: false, error, ...extra },
});

/** Slack's 429 (`ratelimited`, `Retry-After`) when the channel's rate limit is on and spent. */
function rateLimited(ctx: MethodContext, method: string, channel: string): MethodResult | undefined {
  const wait = ctx.rateLimiter?.check(method, channel);
  if (wait === undefined) return undefined;
  return { status: 429, body: { ok: false, error: 'ratelimited' }, headers: { 'retry-after': String(wait) } };
}

/** A stored message as the API shows it (without the twin's own `channel` field). */
export function apiMessage(message: SlackMessage): Record<string, unknown> {
  const { channel: _channel, ...rest } = message;
  return rest;
}

type Content =
  | {
      ok: true;
      text: string | undefined;
      blocks: SlackBlock[] | undefined;
      attachments: unknown[] | undefined;
    }
  | { ok: false; result: MethodResult };

/** text / blocks / attachments of a message-sending call, checked as Slack checks them. */
export function readContent(args: Record<string, unknown>, nextId: () => string): Content {
  const text = stringArg(args.text);
  const rawBlocks = jsonArg(args.blocks);
  if (!rawBlocks.ok) return { ok: false, result: fail('invalid_blocks_format') };
  const rawAttachments = jsonArg(args.attachments);
  if (!rawAttachments.ok || (rawAttachments.value !== undefined && !Array.isArray(rawAttachments.value)))
    return { ok: false, result: fail('invalid_attachments') };
  let blocks: SlackBlock[] | undefined;
  if (rawBlocks.value !== undefined) {
    const checked = checkBlocks(rawBlocks.value, nextId);
    if (!checked.ok)
      return {
        ok: false,
        result: fail('invalid_blocks', {
          errors: checked.messages,
          response_metadata: { messages: checked.messages },
        }),
      };
    blocks = checked.blocks;
  }
  if (text !== undefined && text.length > MAX_TEXT) return { ok: false, result: fail('msg_too_long') };
  return { ok: true, text, blocks, attachments: rawAttachments.value as unknown[] | undefined };
}

function readMetadata(args: Record<string, unknown>): { ok: true; value: unknown } | { ok: false } {
  const parsed = jsonArg(args.metadata);
  if (!parsed.ok) return { ok: false };
  const v = parsed.value;
  if (v === undefined) return { ok: true, value: undefined };
  if (typeof v !== 'object' || v === null || typeof (v as { event_type?: unknown }).event_type !== 'string')
    return { ok: false };
  return { ok: true, value: v };
}

function channelOf(ctx: MethodContext, args: Record<string, unknown>): SlackChannel | MethodResult {
  const name = stringArg(args.channel);
  if (name === undefined || name === '') return fail('channel_not_found');
  // A user id as the channel: the app's direct message with that person, as Slack opens it.
  if (/^U[A-Z0-9]{2,}$/.test(name)) {
    const id = `D${name.slice(1)}`;
    const dm = ctx.workspace.resolveChannel(id);
    if (dm) return dm;
    ctx.workspace.addChannel({ id, name: `dm-${name}`, isPrivate: true, botIsMember: true });
    return ctx.workspace.resolveChannel(id)!;
  }
  return ctx.workspace.resolveChannel(name) ?? fail('channel_not_found');
}

const isResult = (v: unknown): v is MethodResult => typeof v === 'object' && v !== null && 'status' in v;

export function handleWebApiMethod(
  method: string,
  args: Record<string, unknown>,
  ctx: MethodContext,
): MethodResult {
  const { workspace, identity } = ctx;
  switch (method) {
    case 'auth.test':
      return {
        status: 200,
        body: {
          ok: true,
          url: `https://${identity.teamDomain}.slack.com/`,
          team: identity.teamDomain,
          user: identity.botName,
          team_id: identity.teamId,
          user_id: identity.botUserId,
          bot_id: identity.botId,
          is_enterprise_install: false,
        },
      };

    case 'chat.postMessage': {
      const channel = channelOf(ctx, args);
      if (isResult(channel)) return channel;
      // As Slack: a private channel or DM the bot is not in does not exist for it.
      if (channel.isPrivate && channel.botIsMember === false) return fail('channel_not_found');
      if (channel.isArchived) return fail('is_archived');
      const content = readContent(args, ctx.nextId);
      if (!content.ok) return content.result;
      if ((content.text ?? '') === '' && !content.blocks?.length && !content.attachments?.length)
        return fail('no_text');
      const metadata = readMetadata(args);
      if (!metadata.ok) return fail('invalid_metadata_format');
      const limited = rateLimited(ctx, method, channel.id);
      if (limited) return limited;
      const threadTs = stringArg(args.thread_ts);
      try {
        const message = workspace.post({
          channel: channel.id,
          ...botAuthor(identity),
          text: content.text ?? '',
          ...(content.blocks ? { blocks: content.blocks } : {}),
          ...(content.attachments ? { attachments: content.attachments } : {}),
          ...(metadata.value === undefined ? {} : { metadata: metadata.value }),
          ...(threadTs ? { thread_ts: threadTs, reply_broadcast: boolArg(args.reply_broadcast) } : {}),
        });
        return {
          status: 200,
          body: { ok: true, channel: channel.id, ts: message.ts, message: apiMessage(message) },
        };
      } catch (e) {
        if (e instanceof WorkspaceError) return fail(e.slackError);
        throw e;
      }
    }

    case 'chat.update': {
      const channel = channelOf(ctx, args);
      if (isResult(channel)) return channel;
      const ts = stringArg(args.ts);
      if (!ts) return fail('message_not_found');
      const existing = workspace.message(channel.id, ts);
      if (!existing) return fail('message_not_found');
      if (existing.user !== identity.botUserId) return fail('cant_update_message');
      const content = readContent(args, ctx.nextId);
      if (!content.ok) return content.result;
      if (content.text === undefined && content.blocks === undefined && content.attachments === undefined)
        return fail('no_text');
      const metadata = readMetadata(args);
      if (!metadata.ok) return fail('invalid_metadata_format');
      const limited = rateLimited(ctx, method, channel.id);
      if (limited) return limited;
      const updated = workspace.update(channel.id, ts, {
        ...(content.text === undefined ? {} : { text: content.text }),
        ...(content.blocks === undefined ? {} : { blocks: content.blocks }),
        ...(content.attachments === undefined ? {} : { attachments: content.attachments }),
        ...(metadata.value === undefined ? {} : { metadata: metadata.value }),
      });
      const { ts: _ts, type: _type, ...message } = apiMessage(updated);
      return {
        status: 200,
        body: { ok: true, channel: channel.id, ts, text: updated.text, message },
      };
    }

    case 'chat.delete': {
      const channel = channelOf(ctx, args);
      if (isResult(channel)) return channel;
      const ts = stringArg(args.ts);
      if (!ts || !workspace.message(channel.id, ts)) return fail('message_not_found');
      workspace.delete(channel.id, ts);
      return { status: 200, body: { ok: true, channel: channel.id, ts } };
    }

    case 'chat.postEphemeral': {
      const channel = channelOf(ctx, args);
      if (isResult(channel)) return channel;
      const user = stringArg(args.user);
      if (!user) return fail('user_not_found');
      const content = readContent(args, ctx.nextId);
      if (!content.ok) return content.result;
      if ((content.text ?? '') === '' && !content.blocks?.length && !content.attachments?.length)
        return fail('no_text');
      const threadTs = stringArg(args.thread_ts);
      const ephemeral = workspace.postEphemeral({
        channel: channel.id,
        user,
        text: content.text ?? '',
        ...(content.blocks ? { blocks: content.blocks } : {}),
        ...(threadTs ? { thread_ts: threadTs } : {}),
        via: 'chat.postEphemeral',
      });
      return { status: 200, body: { ok: true, message_ts: ephemeral.id } };
    }

    case 'conversations.history': {
      const channel = channelOf(ctx, args);
      if (isResult(channel)) return channel;
      const all = workspace.messages(channel.id).reverse();
      const page = window(all, args);
      return {
        status: 200,
        body: {
          ok: true,
          messages: page.messages.map(apiMessage),
          has_more: page.hasMore,
          pin_count: 0,
          channel_actions_ts: null,
          channel_actions_count: 0,
          response_metadata: { next_cursor: '' },
        },
      };
    }

    case 'conversations.replies': {
      const channel = channelOf(ctx, args);
      if (isResult(channel)) return channel;
      const ts = stringArg(args.ts);
      if (!ts) return fail('thread_not_found');
      const thread = workspace.thread(channel.id, ts);
      if (thread.length === 0) return fail('thread_not_found');
      const [parent, ...replies] = thread;
      const page = window(replies, args);
      return {
        status: 200,
        body: {
          ok: true,
          messages: [parent!, ...page.messages].map(apiMessage),
          has_more: page.hasMore,
          response_metadata: { next_cursor: '' },
        },
      };
    }

    case 'conversations.info': {
      const channel = channelOf(ctx, args);
      if (isResult(channel)) return channel;
      return {
        status: 200,
        body: {
          ok: true,
          channel: { id: channel.id, name: channel.name, is_channel: true, is_member: true },
        },
      };
    }

    default:
      return ctx.views.handle(method, args) ?? fail('unknown_method');
  }
}

/** `oldest`, `latest`, `inclusive`, `limit` as Slack reads them (no cursors: everything fits). */
function window(
  messages: SlackMessage[],
  args: Record<string, unknown>,
): { messages: SlackMessage[]; hasMore: boolean } {
  const oldest = stringArg(args.oldest);
  const latest = stringArg(args.latest);
  const inclusive = boolArg(args.inclusive);
  const limitArg = Number(stringArg(args.limit) ?? '');
  const limit = Number.isInteger(limitArg) && limitArg > 0 ? limitArg : 1000;
  const inRange = messages.filter((m) => {
    if (oldest) {
      const c = compareTs(m.ts, oldest);
      if (c < 0 || (c === 0 && !inclusive)) return false;
    }
    if (latest) {
      const c = compareTs(m.ts, latest);
      if (c > 0 || (c === 0 && !inclusive)) return false;
    }
    return true;
  });
  return { messages: inRange.slice(0, limit), hasMore: inRange.length > limit };
}
