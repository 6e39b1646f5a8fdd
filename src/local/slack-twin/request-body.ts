/**
 * Reads a Web API request the way Slack does: arguments from the query string and from a
 * form-encoded (`application/x-www-form-urlencoded`, what WebClient sends) or JSON body, and the
 * token from `Authorization: Bearer …` or a `token` argument.
 */
import type { IncomingMessage } from 'node:http';

export interface ParsedRequest {
  /** Arguments exactly as they arrived (form values are strings; JSON keeps its types). */
  args: Record<string, unknown>;
  encoding: 'form' | 'json' | 'query';
  /** The token, or undefined when none was sent. Never logged. */
  token: string | undefined;
  /** True when a body could not be parsed (`invalid_form_data` / `invalid_json`). */
  malformed: 'invalid_form_data' | 'invalid_json' | undefined;
}

const MAX_BODY_BYTES = 2 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function parseApiRequest(req: IncomingMessage, rawBody: string, url: URL): ParsedRequest {
  const args: Record<string, unknown> = {};
  for (const [k, v] of url.searchParams) args[k] = v;
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  let encoding: ParsedRequest['encoding'] = 'query';
  let malformed: ParsedRequest['malformed'];
  if (rawBody.trim() !== '') {
    if (contentType === 'application/json') {
      encoding = 'json';
      try {
        const parsed: unknown = JSON.parse(rawBody);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) Object.assign(args, parsed);
        else malformed = 'invalid_json';
      } catch {
        malformed = 'invalid_json';
      }
    } else if (contentType === 'application/x-www-form-urlencoded' || contentType === '') {
      encoding = 'form';
      for (const [k, v] of new URLSearchParams(rawBody)) args[k] = v;
    } else {
      malformed = 'invalid_form_data';
    }
  }
  const header = req.headers.authorization;
  let token: string | undefined;
  if (typeof header === 'string' && /^Bearer\s+/i.test(header))
    token = header.replace(/^Bearer\s+/i, '').trim();
  if (token === undefined && typeof args.token === 'string') token = args.token;
  delete args.token;
  return { args, encoding, token, malformed };
}

/** Reads a JSON-or-JSON-string argument (`blocks`, `attachments`, `metadata`). */
export function jsonArg(value: unknown): { ok: true; value: unknown } | { ok: false } {
  if (value === undefined) return { ok: true, value: undefined };
  if (typeof value !== 'string') return { ok: true, value };
  if (value.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(value) };
  } catch {
    return { ok: false };
  }
}

/** Slack's loose booleans: `true`, `"true"`, `"1"`. */
export function boolArg(value: unknown): boolean {
  return value === true || value === 'true' || value === '1' || value === 1;
}

export function stringArg(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}
