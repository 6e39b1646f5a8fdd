/**
 * The Slack transcript: every Web API call, response_url post and delivery to the bot, in order,
 * as one JSON line each in a file (default `<VYX_DATA_DIR>/slack-transcript.jsonl`, started afresh
 * for each session unless `append`) and in memory.
 * The bot token is never written: it travels in the `Authorization` header, which is not recorded,
 * and a `token` argument (Slack also accepts one) is dropped. Nothing else is scrubbed on purpose:
 * the transcript is what the bot sent to Slack, so a test that scans it for secret values finds a
 * leak instead of hiding it.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
export type TranscriptKind =
  /** A Web API call (`method` is e.g. `chat.postMessage`). */
  | 'api'
  /** A POST to a response_url (`method` is `response_url`). */
  | 'response_url'
  /** A slash command delivered to the bot by the shell (`method` is the command, e.g. `/vyx`). */
  | 'slash_command'
  /** A button press delivered to the bot (`method` is `block_actions`). */
  | 'block_actions'
  /** An Events API event delivered to the bot (`method` is its type, e.g. `app_home_opened`). */
  | 'event'
  /** A modal submitted to the bot (`method` is `view_submission`). */
  | 'view_submission'
  /** The bot's ack() of a delivery (`method` is `ack`; `args.delivery` is that delivery's seq). */
  | 'ack';

export interface SlackTranscriptEntry {
  /** 1, 2, 3 … in order of completion. */
  seq: number;
  /** ISO time the call arrived. */
  time: string;
  kind: TranscriptKind;
  method: string;
  /** Arguments as received; `blocks`, `attachments` and `metadata` JSON strings are decoded. */
  args: Record<string, unknown>;
  /** How the arguments came: form-encoded (WebClient's default), JSON, or only a query string. */
  encoding?: 'form' | 'json' | 'query';
  /** HTTP status answered (200, 429, 404 …); absent for deliveries. */
  status?: number;
  /** The JSON answered (or, for deliveries, what the bot acked). */
  response: unknown;
  /** Milliseconds from arrival to answer (for `ack`: from delivery to ack). */
  durationMs?: number;
}

export interface SlackTranscriptOptions {
  /** The JSONL file; `false` keeps the transcript in memory only. */
  file: string | false;
  /** Keep what the file already holds (default: start it afresh, one session per file). */
  append?: boolean;
  now?: () => number;
}

export interface SlackTranscript {
  readonly file: string | false;
  append(entry: Omit<SlackTranscriptEntry, 'seq' | 'time'> & { time?: string }): SlackTranscriptEntry;
  entries(): SlackTranscriptEntry[];
}

export function createSlackTranscript(options: SlackTranscriptOptions): SlackTranscript {
  const now = options.now ?? Date.now;
  const entries: SlackTranscriptEntry[] = [];
  if (options.file) {
    mkdirSync(path.dirname(options.file), { recursive: true });
    if (!options.append) writeFileSync(options.file, '');
  }
  return {
    file: options.file,
    append(partial) {
      const { token: _token, ...args } = partial.args;
      const entry: SlackTranscriptEntry = structuredClone({
        seq: entries.length + 1,
        time: partial.time ?? new Date(now()).toISOString(),
        ...partial,
        args,
      });
      entries.push(entry);
      if (options.file) appendFileSync(options.file, `${JSON.stringify(entry)}\n`);
      return structuredClone(entry);
    },
    entries: () => structuredClone(entries),
  };
}

/** Arguments for the transcript: JSON-string blocks/attachments/metadata decoded for readability. */
export function decodeForTranscript(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...args };
  for (const key of ['blocks', 'attachments', 'metadata']) {
    const v = out[key];
    if (typeof v === 'string') {
      try {
        out[key] = JSON.parse(v);
      } catch {
        // left as sent: the method answers invalid_blocks_format
      }
    }
  }
  return out;
}
