import { type Dispatcher, request } from 'undici';

/** Statuses whose Response may not carry a body. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * `fetch` for the bot's own JSON calls (the store's SQL functions through supabase-js, Bolt's answers
 * through response_url), over undici's `request` on a kept-alive pool. WHATWG fetch builds a Request,
 * streams and a Headers guard per call; on the ack path (three calls per command) that cost more
 * CPU than the ack itself. The answer is a real `Response` built from the whole body, so callers
 * see fetch's contract (status, headers, text/json). Anything that is not a plain call with a string
 * body — a `Request` object, a stream or form body (Slack file uploads), a redirect to follow — goes
 * to the platform's fetch; `redirect: 'error'` (the Slack client's) throws as fetch does.
 */
export function createLeanFetch(o: { dispatcher?: Dispatcher; fallback?: typeof fetch } = {}): typeof fetch {
  const fallback = o.fallback ?? globalThis.fetch;
  const lean = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const body = init?.body;
    if (input instanceof Request || (body !== undefined && body !== null && typeof body !== 'string')) {
      return fallback(input, init);
    }
    const method = (init?.method ?? 'GET').toUpperCase();
    const res = await request(input, {
      method: method as Dispatcher.HttpMethod,
      headers: headersOf(init?.headers),
      ...(typeof body === 'string' ? { body } : {}),
      ...(init?.signal ? { signal: init.signal } : {}),
      ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
    });
    if (res.statusCode >= 300 && res.statusCode < 400 && res.headers.location !== undefined) {
      await res.body.dump();
      // fetch's own redirect rules (the bot's endpoints never redirect; the Slack client asks 'error').
      if (init?.redirect === 'error')
        throw new TypeError(`fetch failed: redirect ${res.statusCode} from ${String(input)}`);
      if (init?.redirect !== 'manual') return fallback(input, init);
    }
    const text = method === 'HEAD' || NULL_BODY.has(res.statusCode) ? null : await res.body.text();
    if (text === null) await res.body.dump();
    return textResponse(text, { status: res.statusCode, headers: responseHeaders(res.headers) });
  };
  return lean as typeof fetch;
}

/**
 * A Response that answers `text()` and `json()` from the text it was made of: the platform's
 * encodes it again and decodes it through a stream (~5 ms per 300 KB claimed page, 4-10 times the
 * parse). The body is still consumed once (`bodyUsed`, and a second read rejects, as fetch does).
 */
class TextResponse extends Response {
  readonly #text: string;

  constructor(text: string, init: ResponseInit) {
    super(text, init);
    this.#text = text;
  }

  // Fields, not methods: the platform's types declare `text` and `json` as properties.
  override text = async (): Promise<string> => {
    if (this.bodyUsed) return Response.prototype.text.call(this);
    // Marks the body used, as reading it would.
    await this.body?.cancel();
    return this.#text;
  };

  override json = async (): Promise<unknown> => JSON.parse(await this.text()) as unknown;
}

const textResponse = (text: string | null, init: ResponseInit): Response =>
  text === null ? new Response(null, init) : new TextResponse(text, init);

function headersOf(h: RequestInit['headers']): Record<string, string> | undefined {
  if (h === undefined) return undefined;
  if (h instanceof Headers) return Object.fromEntries(h.entries());
  if (Array.isArray(h)) return Object.fromEntries(h);
  return h as Record<string, string>;
}

function responseHeaders(h: Record<string, string | string[] | undefined>): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.push([k, x]);
    else out.push([k, v]);
  }
  return out;
}
