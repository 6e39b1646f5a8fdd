/**
 * Renders the local workspace to a terminal as it changes: each channel message with its channel,
 * author and time, thread replies indented under a `↳`, `chat.update` as "✎ updated its message
 * of …" followed by the new card, ephemeral answers marked "only visible to you", and Block Kit as
 * text (see block-kit-text.ts). Buttons get session-wide numbers (`[1 Destroy]`) that the shell
 * presses with `!1`; a button keeps its number when its card is re-rendered. ANSI colour only when
 * the output is a TTY (or `color: true`).
 */
import type { Writable } from 'node:stream';
import { blocksToLines, type RenderedButton, slackText } from './block-kit-text.ts';
import type { SlackIdentity } from './slack-identity.ts';
import { tsToMillis } from './slack-ts-clock.ts';
import type {
  SlackEphemeral,
  SlackMessage,
  SlackWorkspace,
  SlackWorkspaceChange,
} from './slack-workspace.ts';

export interface PressableButton extends RenderedButton {
  number: number;
  /** On a Home tab (the view's id) rather than a message. */
  viewId?: string;
  channel: string;
  /** The ts of the channel message holding the button, or the ephemeral's id. */
  messageTs: string;
  ephemeral: boolean;
}

/** What the renderer needs of a view (the twin's StoredView has it). */
export interface ShownView {
  id: string;
  type: 'modal' | 'home';
  title?: Record<string, unknown>;
  submit?: Record<string, unknown>;
  close?: Record<string, unknown>;
  blocks: SlackMessage['blocks'] & object;
}

export interface SlackRendererOptions {
  workspace: SlackWorkspace;
  identity: SlackIdentity;
  /** Default process.stdout. */
  output?: Writable;
  /** Default: whether `output` is a TTY. */
  color?: boolean;
  /** For the time shown on lines that are not messages. Default Date.now. */
  now?: () => number;
}

export interface WriteHooks {
  before(): void;
  after(): void;
}

export interface SlackRenderer {
  /** A numbered button shown so far. */
  button(number: number): PressableButton | undefined;
  buttons(): PressableButton[];
  /** Shows what the local user typed (scripted sessions echo their input this way). */
  userLine(channel: string, text: string): void;
  /** A line from the twin itself (warnings, the shell's answers). */
  notice(text: string): void;
  /** The current state of a channel: each message with its replies indented under it. */
  renderChannel(channel: string): string;
  /**
   * Writes a view (the Home tab, or a modal with its inputs and `errors` under them); a Home tab's
   * buttons get numbers the shell presses like any other.
   */
  showView(view: ShownView, errors?: Record<string, string>): string;
  /** The shell wraps writes to keep its prompt on the last line. */
  setWriteHooks(hooks: WriteHooks | undefined): void;
  close(): void;
}

const ANSI = {
  bold: '\x1b[1m',
  dim: '\x1b[2m',
  cyan: '\x1b[36m',
  yellow: '\x1b[33m',
  red: '\x1b[31m',
  reset: '\x1b[0m',
};

export function createSlackRenderer(options: SlackRendererOptions): SlackRenderer {
  const { workspace, identity } = options;
  const output = options.output ?? process.stdout;
  const color = options.color ?? (output as { isTTY?: boolean }).isTTY === true;
  const now = options.now ?? Date.now;
  const paint = (code: keyof typeof ANSI, s: string) => (color ? `${ANSI[code]}${s}${ANSI.reset}` : s);
  const numbers = new Map<string, PressableButton>();
  const byNumber = new Map<number, PressableButton>();
  let hooks: WriteHooks | undefined;
  /** The thread whose replies were rendered last, so consecutive replies skip the thread label. */
  let lastThread: string | undefined;

  const write = (text: string) => {
    hooks?.before();
    output.write(text.endsWith('\n') ? text : `${text}\n`);
    hooks?.after();
  };
  const clock = (millis: number) => new Date(millis).toISOString().slice(11, 19);
  const channelName = (id: string) => `#${workspace.resolveChannel(id)?.name ?? id}`;
  const author = (user: string) =>
    user === identity.botUserId ? identity.botName : user === identity.userId ? identity.userName : user;
  const preview = (m: { text: string }) => {
    const t = slackText(m.text).replace(/\s+/g, ' ').trim();
    return t.length > 40 ? `${t.slice(0, 39)}…` : t;
  };

  const numberFor =
    (channel: string, messageTs: string, ephemeral: boolean, viewId?: string) => (b: RenderedButton) => {
      const key = `${channel}/${messageTs}/${b.blockId}/${b.actionId}/${b.value ?? ''}`;
      let known = numbers.get(key);
      if (!known) {
        known = {
          ...b,
          number: byNumber.size + 1,
          channel,
          messageTs,
          ephemeral,
          ...(viewId ? { viewId } : {}),
        };
        numbers.set(key, known);
        byNumber.set(known.number, known);
      } else {
        Object.assign(known, b);
      }
      return known.number;
    };

  /** Body lines of a message (blocks if any, else text), each prefixed by `indent`. */
  const body = (
    m: { text: string; blocks?: SlackMessage['blocks'] },
    indent: string,
    number: (b: RenderedButton) => number,
  ) => {
    if (m.blocks && m.blocks.length > 0) {
      const { lines } = blocksToLines(m.blocks, number);
      return lines
        .map((l) => {
          const t = `${indent}${l.text}`;
          return l.tone === 'header'
            ? paint('bold', t)
            : l.tone === 'dim'
              ? paint('dim', t)
              : l.tone === 'buttons'
                ? paint('cyan', t)
                : t;
        })
        .join('\n');
    }
    return slackText(m.text)
      .split('\n')
      .map((l) => `${indent}${l}`)
      .join('\n');
  };

  /** `at` is the time shown (the message's own, or its edit's). */
  const messageBlock = (m: SlackMessage, heading: string | undefined, at = m.ts) => {
    const isReply = m.thread_ts !== undefined && m.thread_ts !== m.ts;
    const number = numberFor(m.channel, m.ts, false);
    if (!isReply) {
      return `${paint('dim', `[${clock(tsToMillis(at))}]`)} ${channelName(m.channel)} · ${paint('bold', author(m.user))}${heading ?? ''}\n${body(m, '  ', number)}`;
    }
    const parent = workspace.message(m.channel, m.thread_ts!);
    const label =
      lastThread === `${m.channel}/${m.thread_ts}`
        ? ''
        : paint('dim', ` · in the thread of "${parent ? preview(parent) : m.thread_ts}"`);
    lastThread = `${m.channel}/${m.thread_ts}`;
    return `    ↳ ${paint('dim', `[${clock(tsToMillis(at))}]`)} ${paint('bold', author(m.user))}${heading ?? ''}${label}\n${body(m, '      ', number)}`;
  };

  const ephemeralBlock = (e: SlackEphemeral, note: string) => {
    const number = numberFor(e.channel, e.id, true);
    return `${paint('dim', `[${clock(tsToMillis(e.id))}]`)} ${channelName(e.channel)} · ${paint('bold', identity.botName)} · ${paint('yellow', `only visible to you${note}`)}\n${body(e, '  ', number)}`;
  };

  const onChange = (change: SlackWorkspaceChange) => {
    switch (change.type) {
      case 'message_posted': {
        const m = change.message;
        if (m.thread_ts === undefined || m.thread_ts === m.ts) lastThread = undefined;
        write(messageBlock(m, m.subtype === 'thread_broadcast' ? ' (also sent to the channel)' : undefined));
        break;
      }
      case 'message_updated': {
        const m = change.message;
        const isReply = m.thread_ts !== undefined && m.thread_ts !== m.ts;
        const what = isReply ? 'reply' : 'message';
        lastThread = undefined;
        write(
          messageBlock(
            m,
            paint(
              'yellow',
              ` ✎ updated its ${what} of ${clock(tsToMillis(m.ts))}${change.via === 'response_url' ? ' (via response_url)' : ''}`,
            ),
            m.edited?.ts ?? m.ts,
          ),
        );
        break;
      }
      case 'message_deleted':
        write(
          `${paint('dim', `[${clock(now())}]`)} ${channelName(change.message.channel)} · ${author(change.message.user)} ✕ deleted its message of ${clock(tsToMillis(change.message.ts))}`,
        );
        break;
      case 'ephemeral_posted':
        lastThread = undefined;
        write(ephemeralBlock(change.ephemeral, ''));
        break;
      case 'ephemeral_replaced':
        lastThread = undefined;
        write(ephemeralBlock(change.ephemeral, ', replacing the previous one'));
        break;
      case 'ephemeral_deleted':
        write(
          `${paint('dim', `[${clock(now())}]`)} ${channelName(change.ephemeral.channel)} · ${identity.botName} ✕ removed a message only visible to you`,
        );
        break;
    }
  };
  const unsubscribe = workspace.onChange(onChange);

  return {
    button: (n) => {
      const b = byNumber.get(n);
      return b ? { ...b } : undefined;
    },
    buttons: () => [...byNumber.values()].map((b) => ({ ...b })),
    userLine(channel, text) {
      lastThread = undefined;
      write(
        `${paint('dim', `[${clock(now())}]`)} ${channelName(channel)} · ${paint('bold', identity.userName)}: ${text}`,
      );
    },
    notice(text) {
      write(paint('dim', `vyx shell: ${text}`));
    },
    renderChannel(channel) {
      const c = workspace.resolveChannel(channel);
      if (!c) return '';
      const parts: string[] = [];
      for (const m of workspace.messages(c.id)) {
        lastThread = undefined;
        parts.push(messageBlock(m, m.edited ? ' (edited)' : undefined));
        if (m.reply_count)
          for (const r of workspace.thread(c.id, m.ts).slice(1)) parts.push(messageBlock(r, undefined));
      }
      lastThread = undefined;
      return `${parts.join('\n')}\n`;
    },
    showView(view, errors = {}) {
      const label = (t: unknown) =>
        typeof t === 'object' && t !== null ? String((t as { text?: unknown }).text ?? '') : '';
      const heading =
        view.type === 'home'
          ? `${paint('bold', `┌ ${identity.botName} · Home`)}`
          : `${paint('bold', `┌ ${label(view.title)}`)} ${paint('dim', '(dialog)')}`;
      // Home buttons are numbered per user's Home, so a re-published Home keeps its numbers.
      const number = numberFor(
        'home',
        view.type === 'home' ? `home/${identity.userId}` : view.id,
        false,
        view.id,
      );
      const lines: string[] = [heading];
      for (const block of view.blocks) {
        lines.push(body({ text: '', blocks: [block] }, '│ ', number));
        const error = typeof block.block_id === 'string' ? errors[block.block_id] : undefined;
        if (error) lines.push(paint('red', `│   ✗ ${slackText(error)}`));
      }
      if (view.type === 'modal')
        lines.push(
          `└ ${paint('cyan', `[${label(view.close) || 'Cancel'}] [${label(view.submit) || 'Submit'}]`)}`,
        );
      else lines.push('└');
      const text = lines.join('\n');
      write(text);
      return text;
    },
    setWriteHooks(h) {
      hooks = h;
    },
    close() {
      unsubscribe();
    },
  };
}
