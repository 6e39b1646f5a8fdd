// Request bodies as the gateway reads them: JSON at most 1 MB (PostgREST's PGRST102 otherwise).
import type { IncomingMessage } from 'node:http';
import { errorBody, HttpError } from './postgrest-errors.ts';

const MAX_BODY = 1024 * 1024;

/** The body parsed, and its text (an RPC hands that text to Postgres as it came). */
export async function readJsonBody(
  req: IncomingMessage,
): Promise<{ value: unknown; text: string } | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, errorBody('PGRST102', 'Request body too large'));
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return undefined;
  try {
    return { value: JSON.parse(text) as unknown, text };
  } catch {
    throw new HttpError(400, errorBody('PGRST102', 'Empty or invalid json'));
  }
}

/** An RPC's named arguments: the query string of a GET, else the body's JSON object (and its text). */
export async function readRpcArgs(
  req: IncomingMessage,
  url: URL,
): Promise<{ args: Record<string, unknown>; text?: string }> {
  if (req.method === 'GET' || req.method === 'HEAD') {
    const args: Record<string, unknown> = {};
    for (const [k, v] of url.searchParams) args[k] = v;
    return { args };
  }
  const body = await readJsonBody(req);
  if (body === undefined) return { args: {} };
  const parsed = body.value;
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new HttpError(
      400,
      errorBody('PGRST102', 'Empty or invalid json', 'The body of an RPC call must be a JSON object.'),
    );
  }
  return { args: parsed as Record<string, unknown>, text: body.text };
}
