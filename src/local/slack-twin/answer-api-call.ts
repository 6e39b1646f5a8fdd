import type { IncomingMessage } from 'node:http';
import { parseApiRequest, readBody } from './request-body.ts';
import type { AnsweredRequest } from './response-urls.ts';
import { decodeForTranscript } from './slack-transcript.ts';
import { handleWebApiMethod, type MethodContext, type MethodResult } from './slack-web-methods.ts';
import type { SocketModeHub } from './socket-mode-hub.ts';

/**
 * Answers `/api/<method>` as Slack does: the bot token checked (`apps.connections.open` takes the
 * app-level token instead, when Socket Mode is on), then the method; with the parsed arguments for
 * the transcript.
 */
export async function answerApiCall(
  req: IncomingMessage,
  url: URL,
  method: string,
  o: { botToken: string; ctx: MethodContext; hub: SocketModeHub | undefined; socketUrl: string },
): Promise<AnsweredRequest> {
  const raw = await readBody(req);
  const parsed = parseApiRequest(req, raw, url);
  const args = decodeForTranscript(parsed.args);
  const base = { encoding: parsed.encoding, args };
  if (parsed.malformed) return { ...failure(parsed.malformed), entry: base };
  if (method === 'apps.connections.open') {
    if (!o.hub) return { ...failure('unknown_method'), entry: base };
    return { status: 200, body: o.hub.open(parsed.token, o.socketUrl), entry: base };
  }
  if (parsed.token === undefined || parsed.token === '') return { ...failure('not_authed'), entry: base };
  if (parsed.token !== o.botToken) return { ...failure('invalid_auth'), entry: base };
  return { ...handleWebApiMethod(method, parsed.args, o.ctx), entry: base };
}

function failure(error: string): MethodResult {
  return { status: 200, body: { ok: false, error } };
}
