/**
 * response_urls as Slack keeps them: each remembers what it acts on (a command, a message, an
 * ephemeral), works 5 times within 30 minutes, and answers a JSON `{text, blocks, response_type,
 * replace_original, delete_original, thread_ts}` post — ephemeral unless `in_channel`.
 */
import type { IncomingMessage } from 'node:http';
import { readBody } from './request-body.ts';
import { botAuthor, type SlackIdentity } from './slack-identity.ts';
import { decodeForTranscript, type SlackTranscriptEntry } from './slack-transcript.ts';
import { type MethodResult, readContent } from './slack-web-methods.ts';
import { type SlackWorkspace, WorkspaceError } from './slack-workspace.ts';

/** What a response_url acts on. */
export type ResponseUrlOrigin =
  /** A slash command: replace_original acts on the last ephemeral this URL posted. */
  | { kind: 'command'; channel: string; user: string }
  /** A button on a channel message. */
  | { kind: 'message'; channel: string; user: string; ts: string }
  /** A button on an ephemeral message. */
  | { kind: 'ephemeral'; channel: string; user: string; id: string };

/** An answer, with the arguments the transcript records for it. */
export type AnsweredRequest = MethodResult & { entry?: Partial<SlackTranscriptEntry> };

export interface ResponseUrls {
  /** Registers a new response_url for `origin`; returns its id (`/response/<id>`). */
  register(origin: ResponseUrlOrigin): string;
  /** Answers a POST to `/response/<id>`. */
  answer(req: IncomingMessage, id: string): Promise<AnsweredRequest>;
}

interface ResponseUrlState {
  origin: ResponseUrlOrigin;
  createdAt: number;
  uses: number;
  /** For command URLs: the last ephemeral posted through it. */
  lastEphemeral: string | undefined;
}

const RESPONSE_URL_USES = 5;
const RESPONSE_URL_TTL_MS = 30 * 60 * 1000;

export function createResponseUrls(parts: {
  workspace: SlackWorkspace;
  identity: SlackIdentity;
  now: () => number;
  nextId: () => string;
}): ResponseUrls {
  const { workspace, identity, now, nextId } = parts;
  const states = new Map<string, ResponseUrlState>();
  let counter = 0;

  const answer = async (req: IncomingMessage, id: string): Promise<AnsweredRequest> => {
    const raw = await readBody(req);
    let body: Record<string, unknown> = {};
    try {
      const parsed: unknown = raw.trim() === '' ? {} : JSON.parse(raw);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
        body = parsed as Record<string, unknown>;
      else return { status: 400, body: { ok: false, error: 'invalid_payload' } };
    } catch {
      return { status: 400, body: { ok: false, error: 'invalid_payload' } };
    }
    const entry = { args: decodeForTranscript(body), encoding: 'json' as const };
    const state = states.get(id);
    if (!state || now() - state.createdAt > RESPONSE_URL_TTL_MS)
      return { status: 404, body: { ok: false, error: 'expired_url' }, entry };
    if (state.uses >= RESPONSE_URL_USES)
      return { status: 404, body: { ok: false, error: 'used_url' }, entry };
    state.uses += 1;
    return { ...respondTo(state, body), entry };
  };

  const respondTo = (state: ResponseUrlState, body: Record<string, unknown>): MethodResult => {
    const { origin } = state;
    const replace = body.replace_original === true || body.replace_original === 'true';
    const del = body.delete_original === true || body.delete_original === 'true';
    try {
      if (del) {
        if (origin.kind === 'message') workspace.delete(origin.channel, origin.ts);
        else if (origin.kind === 'ephemeral') workspace.deleteEphemeral(origin.id);
        else if (state.lastEphemeral) workspace.deleteEphemeral(state.lastEphemeral);
        else return { status: 404, body: { ok: false, error: 'message_not_found' } };
        return { status: 200, body: { ok: true } };
      }
      const content = readContent(body, nextId);
      if (!content.ok) return { ...content.result, status: 400 };
      if ((content.text ?? '') === '' && !content.blocks?.length)
        return { status: 400, body: { ok: false, error: 'no_text' } };
      const text = content.text ?? '';
      if (replace) {
        if (origin.kind === 'message') {
          workspace.update(origin.channel, origin.ts, { text, blocks: content.blocks ?? [] }, 'response_url');
          return { status: 200, body: { ok: true } };
        }
        const target = origin.kind === 'ephemeral' ? origin.id : state.lastEphemeral;
        if (target && workspace.ephemeral(target) && !workspace.ephemeral(target)?.deleted) {
          workspace.replaceEphemeral(target, { text, ...(content.blocks ? { blocks: content.blocks } : {}) });
          return { status: 200, body: { ok: true } };
        }
      }
      const threadTs = typeof body.thread_ts === 'string' ? body.thread_ts : undefined;
      if (body.response_type === 'in_channel') {
        workspace.post({
          channel: origin.channel,
          ...botAuthor(identity),
          text,
          ...(content.blocks ? { blocks: content.blocks } : {}),
          ...(threadTs && workspace.message(origin.channel, threadTs) ? { thread_ts: threadTs } : {}),
        });
      } else {
        const posted = workspace.postEphemeral({
          channel: origin.channel,
          user: origin.user,
          text,
          ...(content.blocks ? { blocks: content.blocks } : {}),
          via: 'response_url',
        });
        state.lastEphemeral = posted.id;
      }
      return { status: 200, body: { ok: true } };
    } catch (e) {
      if (e instanceof WorkspaceError) return { status: 404, body: { ok: false, error: e.slackError } };
      throw e;
    }
  };

  return {
    register(origin) {
      const id = `R${(++counter).toString().padStart(4, '0')}${Math.random().toString(36).slice(2, 8)}`;
      states.set(id, { origin, createdAt: now(), uses: 0, lastEphemeral: undefined });
      return id;
    },
    answer,
  };
}
