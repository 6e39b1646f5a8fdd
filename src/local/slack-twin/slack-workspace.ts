/**
 * The local Slack workspace's state: channels, the bot's messages and their threads, and the
 * ephemeral messages shown to the local user. The Web API server writes it; the renderer listens to
 * its changes; tests read it through `messages`, `thread`, `find` and `ephemerals`. Everything
 * read out is a copy.
 */
import { compareTs, createSlackTsClock, type SlackTsClock } from './slack-ts-clock.ts';

export interface SlackChannel {
  id: string;
  /** Without the `#`. */
  name: string;
  /** A private channel or a DM: the bot can post only as a member (else `channel_not_found`). */
  isPrivate?: boolean;
  /** Default true. A public channel is postable without membership (`chat:write.public`). */
  botIsMember?: boolean;
  /** Archived: every post answers `is_archived`. */
  isArchived?: boolean;
}

/** A channel message or thread reply, shaped like the `message` objects Slack returns. */
export interface SlackMessage {
  type: 'message';
  ts: string;
  /** Not part of Slack's message object; kept so a message knows where it lives. */
  channel: string;
  text: string;
  user: string;
  bot_id?: string;
  app_id?: string;
  team?: string;
  blocks?: SlackBlock[];
  attachments?: unknown[];
  metadata?: unknown;
  /** On a reply: its parent's ts. On a parent with replies: its own ts. */
  thread_ts?: string;
  reply_count?: number;
  reply_users?: string[];
  reply_users_count?: number;
  latest_reply?: string;
  /** Present once the message was changed by chat.update or a response_url. */
  edited?: { user: string; ts: string };
  /** Set on thread replies posted with `reply_broadcast: true`. */
  subtype?: 'thread_broadcast';
}

export type SlackBlock = Record<string, unknown> & { type: string; block_id?: string };

/** An ephemeral message: only the local user sees it; it has no real ts and cannot be threaded. */
export interface SlackEphemeral {
  /** A ts-shaped id (chat.postEphemeral answers it as `message_ts`). */
  id: string;
  channel: string;
  /** Who sees it. */
  user: string;
  text: string;
  blocks?: SlackBlock[];
  thread_ts?: string;
  /** How it was sent. */
  via: 'chat.postEphemeral' | 'ack' | 'response_url';
  /** The response_url id that posted it (replace_original / delete_original act on it). */
  responseUrlId?: string;
  replaced?: boolean;
  deleted?: boolean;
}

export type SlackWorkspaceChange =
  | { type: 'message_posted'; message: SlackMessage }
  | {
      type: 'message_updated';
      message: SlackMessage;
      previous: SlackMessage;
      via: 'chat.update' | 'response_url';
    }
  | { type: 'message_deleted'; message: SlackMessage }
  | { type: 'ephemeral_posted'; ephemeral: SlackEphemeral }
  | { type: 'ephemeral_replaced'; ephemeral: SlackEphemeral; previous: SlackEphemeral }
  | { type: 'ephemeral_deleted'; ephemeral: SlackEphemeral };

export interface PostInput {
  channel: string;
  user: string;
  text: string;
  bot_id?: string;
  app_id?: string;
  team?: string;
  blocks?: SlackBlock[];
  attachments?: unknown[];
  metadata?: unknown;
  thread_ts?: string;
  reply_broadcast?: boolean;
}

export interface UpdateInput {
  text?: string;
  blocks?: SlackBlock[];
  attachments?: unknown[];
  metadata?: unknown;
}

export interface SlackWorkspaceOptions {
  channels?: SlackChannel[];
  now?: () => number;
  tsClock?: SlackTsClock;
}

export interface SlackWorkspace {
  readonly tsClock: SlackTsClock;
  channels(): SlackChannel[];
  addChannel(channel: SlackChannel): void;
  /** By id, by name, or by `#name`. */
  resolveChannel(idOrName: string): SlackChannel | undefined;
  /** Posts a message or (with `thread_ts`) a reply. Throws `WorkspaceError('thread_not_found')`. */
  post(input: PostInput): SlackMessage;
  update(channel: string, ts: string, patch: UpdateInput, via?: 'chat.update' | 'response_url'): SlackMessage;
  delete(channel: string, ts: string): SlackMessage;
  postEphemeral(input: Omit<SlackEphemeral, 'id'>): SlackEphemeral;
  replaceEphemeral(id: string, patch: { text: string; blocks?: SlackBlock[] }): SlackEphemeral;
  deleteEphemeral(id: string): SlackEphemeral;
  /** One message (parent or reply), or undefined. */
  message(channel: string, ts: string): SlackMessage | undefined;
  /** Top-level messages of a channel (and broadcast replies), oldest first. */
  messages(channel: string): SlackMessage[];
  /** The parent and its replies, oldest first; empty when there is no such message. */
  thread(channel: string, ts: string): SlackMessage[];
  /** Every live message (all channels, parents and replies) matching the predicate, oldest first. */
  find(predicate: (message: SlackMessage) => boolean): SlackMessage[];
  /** Ephemeral messages, oldest first (deleted ones excluded unless asked). */
  ephemerals(options?: { includeDeleted?: boolean }): SlackEphemeral[];
  ephemeral(id: string): SlackEphemeral | undefined;
  /** Subscribe to changes; returns the unsubscribe function. */
  onChange(listener: (change: SlackWorkspaceChange) => void): () => void;
}

/** A failure with a Slack error code (`thread_not_found`, `message_not_found`, …). */
export class WorkspaceError extends Error {
  readonly slackError: string;
  constructor(slackError: string, message?: string) {
    super(message ?? slackError);
    this.slackError = slackError;
  }
}

export function createSlackWorkspace(options: SlackWorkspaceOptions = {}): SlackWorkspace {
  const tsClock = options.tsClock ?? createSlackTsClock(options.now);
  const channels = new Map<string, SlackChannel>();
  for (const c of options.channels ?? []) channels.set(c.id, { ...c });
  /** channel → ts → message (parents and replies). */
  const store = new Map<string, Map<string, SlackMessage>>();
  const ephemerals = new Map<string, SlackEphemeral>();
  const listeners = new Set<(change: SlackWorkspaceChange) => void>();

  const emit = (change: SlackWorkspaceChange) => {
    for (const listener of listeners) listener(change);
  };
  const copy = <T>(value: T): T => structuredClone(value);
  const channelStore = (channel: string) => {
    let m = store.get(channel);
    if (!m) {
      m = new Map();
      store.set(channel, m);
    }
    return m;
  };
  const sorted = (list: Iterable<SlackMessage>) => [...list].sort((a, b) => compareTs(a.ts, b.ts));
  const live = (channel: string, ts: string) => store.get(channel)?.get(ts);

  return {
    tsClock,
    channels: () => [...channels.values()].map((c) => ({ ...c })),
    addChannel(channel) {
      channels.set(channel.id, { ...channel });
    },
    resolveChannel(idOrName) {
      const byId = channels.get(idOrName);
      if (byId) return { ...byId };
      const name = idOrName.replace(/^#/, '');
      for (const c of channels.values()) if (c.name === name) return { ...c };
      return undefined;
    },
    post(input) {
      const messages = channelStore(input.channel);
      let threadTs: string | undefined;
      if (input.thread_ts !== undefined) {
        const target = messages.get(input.thread_ts);
        if (!target)
          throw new WorkspaceError('thread_not_found', `no message ${input.thread_ts} to reply to`);
        // A reply's ts names its thread: Slack files the new reply under the same parent.
        threadTs = target.thread_ts ?? target.ts;
      }
      const message: SlackMessage = {
        type: 'message',
        ts: tsClock.next(),
        channel: input.channel,
        text: input.text,
        user: input.user,
        ...(input.bot_id === undefined ? {} : { bot_id: input.bot_id }),
        ...(input.app_id === undefined ? {} : { app_id: input.app_id }),
        ...(input.team === undefined ? {} : { team: input.team }),
        ...(input.blocks === undefined ? {} : { blocks: copy(input.blocks) }),
        ...(input.attachments === undefined ? {} : { attachments: copy(input.attachments) }),
        ...(input.metadata === undefined ? {} : { metadata: copy(input.metadata) }),
        ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
        ...(threadTs !== undefined && input.reply_broadcast ? { subtype: 'thread_broadcast' as const } : {}),
      };
      messages.set(message.ts, message);
      if (threadTs !== undefined) {
        const parent = messages.get(threadTs)!;
        parent.thread_ts = parent.ts;
        parent.reply_count = (parent.reply_count ?? 0) + 1;
        const users = new Set(parent.reply_users ?? []);
        users.add(message.user);
        parent.reply_users = [...users];
        parent.reply_users_count = users.size;
        parent.latest_reply = message.ts;
      }
      emit({ type: 'message_posted', message: copy(message) });
      return copy(message);
    },
    update(channel, ts, patch, via = 'chat.update') {
      const message = live(channel, ts);
      if (!message) throw new WorkspaceError('message_not_found');
      const previous = copy(message);
      if (patch.text !== undefined) message.text = patch.text;
      if (patch.blocks !== undefined) {
        if (patch.blocks.length === 0) delete message.blocks;
        else message.blocks = copy(patch.blocks);
      }
      if (patch.attachments !== undefined) message.attachments = copy(patch.attachments);
      if (patch.metadata !== undefined) message.metadata = copy(patch.metadata);
      message.edited = { user: message.user, ts: tsClock.next() };
      emit({ type: 'message_updated', message: copy(message), previous, via });
      return copy(message);
    },
    delete(channel, ts) {
      const message = live(channel, ts);
      if (!message) throw new WorkspaceError('message_not_found');
      store.get(channel)!.delete(ts);
      emit({ type: 'message_deleted', message: copy(message) });
      return copy(message);
    },
    postEphemeral(input) {
      const ephemeral: SlackEphemeral = { ...copy(input), id: tsClock.next() };
      ephemerals.set(ephemeral.id, ephemeral);
      emit({ type: 'ephemeral_posted', ephemeral: copy(ephemeral) });
      return copy(ephemeral);
    },
    replaceEphemeral(id, patch) {
      const ephemeral = ephemerals.get(id);
      if (!ephemeral || ephemeral.deleted) throw new WorkspaceError('message_not_found');
      const previous = copy(ephemeral);
      ephemeral.text = patch.text;
      if (patch.blocks === undefined) delete ephemeral.blocks;
      else ephemeral.blocks = copy(patch.blocks);
      ephemeral.replaced = true;
      emit({ type: 'ephemeral_replaced', ephemeral: copy(ephemeral), previous });
      return copy(ephemeral);
    },
    deleteEphemeral(id) {
      const ephemeral = ephemerals.get(id);
      if (!ephemeral || ephemeral.deleted) throw new WorkspaceError('message_not_found');
      ephemeral.deleted = true;
      emit({ type: 'ephemeral_deleted', ephemeral: copy(ephemeral) });
      return copy(ephemeral);
    },
    message(channel, ts) {
      const m = live(channel, ts);
      return m ? copy(m) : undefined;
    },
    messages(channel) {
      const all = store.get(channel)?.values() ?? [];
      return sorted(
        [...all].filter(
          (m) => m.thread_ts === undefined || m.thread_ts === m.ts || m.subtype === 'thread_broadcast',
        ),
      ).map(copy);
    },
    thread(channel, ts) {
      const parent = live(channel, ts);
      if (!parent) return [];
      const root = parent.thread_ts ?? parent.ts;
      const all = store.get(channel)?.values() ?? [];
      return sorted([...all].filter((m) => m.ts === root || m.thread_ts === root)).map(copy);
    },
    find(predicate) {
      const all: SlackMessage[] = [];
      for (const messages of store.values()) all.push(...messages.values());
      return sorted(all)
        .map(copy)
        .filter((m) => predicate(m));
    },
    ephemerals(opts) {
      return [...ephemerals.values()].filter((e) => opts?.includeDeleted || !e.deleted).map(copy);
    },
    ephemeral(id) {
      const e = ephemerals.get(id);
      return e ? copy(e) : undefined;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
