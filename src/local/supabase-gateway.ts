import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CatalogueFunction,
  loadFunctionCatalogue,
  type Resolution,
  resolveFunction,
} from './function-catalogue.ts';
import { errorBody, httpStatusForSqlState, type PostgrestErrorBody } from './postgrest-errors.ts';
import type { SqlBackend } from './sql-backend.ts';

export interface SupabaseGatewayOptions {
  backend: SqlBackend;
  /** The key callers must send as `apikey` (and as `Authorization: Bearer …` when they send one). */
  serviceKey: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Exposed schemas; the first is the default (`Content-Profile`/`Accept-Profile` choose another). */
  schemas?: string[];
  /** The database role requests run as once the key matched. */
  role?: string;
}

export interface SupabaseGateway {
  /** Base URL, as `SUPABASE_URL` (without `/rest/v1`). */
  url: string;
  port: number;
  /** Requests answered so far, for tests and benchmarks. */
  requests(): number;
  close(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;
const JSON_TYPE = 'application/json; charset=utf-8';

class HttpError extends Error {
  readonly status: number;
  readonly body: PostgrestErrorBody;
  constructor(status: number, body: PostgrestErrorBody) {
    super(body.message);
    this.status = status;
    this.body = body;
  }
}

const quoteIdent = (s: string) => `"${s.replaceAll('"', '""')}"`;

/** Network-level failures to reach the database (pg driver error codes), answered 503 as PostgREST does. */
const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
]);

/**
 * The local Supabase gateway: PostgREST's RPC protocol (`/rest/v1/rpc/<fn>`) over any SqlBackend —
 * named arguments, PostgREST's result shapes, its SQLSTATE→HTTP map and error bodies, and the
 * apikey check. supabase-js talks to it exactly as to Supabase. Unlike PostgREST it reloads its
 * function catalogue by itself when a name is not found (no `NOTIFY pgrst` needed after DDL).
 */
export async function startSupabaseGateway(options: SupabaseGatewayOptions): Promise<SupabaseGateway> {
  const { backend, serviceKey } = options;
  const schemas = options.schemas ?? ['public'];
  const role = options.role ?? 'service_role';
  let catalogue: CatalogueFunction[] = await loadFunctionCatalogue(backend, schemas);
  let requestCount = 0;

  async function resolve(schema: string, name: string, keys: string[]): Promise<Resolution> {
    let r = resolveFunction(catalogue, schema, name, keys);
    if (r.kind === 'none') {
      catalogue = await loadFunctionCatalogue(backend, schemas);
      r = resolveFunction(catalogue, schema, name, keys);
    }
    return r;
  }

  function checkKey(req: IncomingMessage): void {
    const apikey = req.headers.apikey;
    const auth = req.headers.authorization;
    if (apikey === undefined && auth === undefined) {
      throw new HttpError(
        401,
        errorBody('PGRST301', 'No API key found in request', null, 'No `apikey` request header was found.'),
      );
    }
    const bearer = auth?.startsWith('Bearer ') ? auth.slice(7) : auth;
    if ((apikey !== undefined && apikey !== serviceKey) || (bearer !== undefined && bearer !== serviceKey)) {
      throw new HttpError(
        401,
        errorBody('PGRST301', 'Invalid API key', null, 'Double check your Supabase `service_role` API key.'),
      );
    }
  }

  function chooseSchema(req: IncomingMessage): string {
    const header = req.method === 'GET' || req.method === 'HEAD' ? 'accept-profile' : 'content-profile';
    const wanted = req.headers[header];
    const schema = typeof wanted === 'string' && wanted !== '' ? wanted : schemas[0]!;
    if (!schemas.includes(schema)) {
      throw new HttpError(
        406,
        errorBody(
          'PGRST106',
          `Invalid schema: ${schema}`,
          null,
          `Only the following schemas are exposed: ${schemas.join(', ')}`,
        ),
      );
    }
    return schema;
  }

  async function readArgs(req: IncomingMessage, url: URL): Promise<Record<string, unknown>> {
    if (req.method === 'GET' || req.method === 'HEAD') {
      const args: Record<string, unknown> = {};
      for (const [k, v] of url.searchParams) args[k] = v;
      return args;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) throw new HttpError(413, errorBody('PGRST102', 'Request body too large'));
      chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8').trim();
    if (text === '') return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new HttpError(400, errorBody('PGRST102', 'Empty or invalid json'));
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new HttpError(
        400,
        errorBody('PGRST102', 'Empty or invalid json', 'The body of an RPC call must be a JSON object.'),
      );
    }
    return parsed as Record<string, unknown>;
  }

  function buildCall(r: Resolution & { kind: 'named' | 'single-json' }): string {
    const fn = r.fn;
    const target = `${quoteIdent(fn.schema)}.${quoteIdent(fn.name)}`;
    let from: string;
    if (r.kind === 'single-json') {
      from = `${target}($1::${fn.params[0]!.type}) _t`;
    } else if (r.args.length === 0) {
      from = `${target}() _t`;
    } else {
      const types = new Map(fn.params.map((p) => [p.name, p.type]));
      const columns = r.args.map((a) => `${quoteIdent(a)} ${types.get(a)}`).join(', ');
      const named = r.args.map((a) => `${quoteIdent(a)} => _r.${quoteIdent(a)}`).join(', ');
      from = `jsonb_to_record($1::jsonb) as _r(${columns}), lateral ${target}(${named}) _t`;
    }
    if (fn.returnsVoid) return `select 1 from ${from}`;
    if (fn.returnsSet)
      return `select coalesce(json_agg(_t), '[]'::json)::text as body, count(*)::int as n from ${from}`;
    return `select to_json(_t)::text as body from ${from}`;
  }

  async function handleRpc(req: IncomingMessage, res: ServerResponse, url: URL, name: string): Promise<void> {
    if (!['GET', 'HEAD', 'POST'].includes(req.method ?? '')) {
      throw new HttpError(
        405,
        errorBody('PGRST101', 'Only GET, HEAD and POST verbs are allowed for functions'),
      );
    }
    const schema = chooseSchema(req);
    checkKey(req);
    const args = await readArgs(req, url);
    const keys = Object.keys(args);
    const resolution = await resolve(schema, name, keys);
    if (resolution.kind === 'none') {
      const list = [...keys].sort().join(', ');
      throw new HttpError(
        404,
        errorBody(
          'PGRST202',
          `Could not find the function ${schema}.${name}${keys.length ? `(${list})` : ' without parameters'} in the schema cache`,
          `Searched for the function ${schema}.${name} ${keys.length ? `with parameter${keys.length > 1 ? 's' : ''} ${list}` : 'without parameters'} or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.`,
        ),
      );
    }
    if (resolution.kind === 'ambiguous') {
      throw new HttpError(
        300,
        errorBody(
          'PGRST203',
          `Could not choose the best candidate function between: ${resolution.candidates.map((c) => `${c.schema}.${c.name}(${c.params.map((p) => `${p.name} => ${p.type}`).join(', ')})`).join(', ')}`,
          null,
          'Try renaming the parameters or the function itself in the database so function overloading can be resolved',
        ),
      );
    }
    const readOnly = req.method === 'GET' || req.method === 'HEAD' || resolution.fn.readOnly;
    const sql = buildCall(resolution);
    const params = resolution.kind === 'named' && resolution.args.length === 0 ? [] : [JSON.stringify(args)];
    const row = await backend.transaction(
      async (tx) => {
        await tx.query(`select set_config('role', $1, true)`, [role]);
        const r = await tx.query(sql, params);
        return r.rows[0];
      },
      { readOnly },
    );
    if (resolution.fn.returnsVoid) {
      res.writeHead(204).end();
      return;
    }
    const body = String(row?.body ?? 'null');
    const headers: Record<string, string> = { 'content-type': JSON_TYPE };
    if (resolution.fn.returnsSet) {
      const n = Number(row?.n ?? 0);
      const total = String(req.headers.prefer ?? '').includes('count=exact') ? String(n) : '*';
      headers['content-range'] = n > 0 ? `0-${n - 1}/${total}` : `*/${total}`;
    }
    res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : body);
  }

  function sendError(res: ServerResponse, err: unknown): void {
    let status: number;
    let body: PostgrestErrorBody;
    if (err instanceof HttpError) {
      status = err.status;
      body = err.body;
    } else {
      const e = err as { code?: unknown; message?: unknown; detail?: unknown; hint?: unknown };
      const code = typeof e.code === 'string' ? e.code : '';
      if (/^[0-9A-Z]{5}$/.test(code)) {
        status = httpStatusForSqlState(code);
        body = errorBody(
          code,
          String(e.message ?? 'database error'),
          typeof e.detail === 'string' ? e.detail : null,
          typeof e.hint === 'string' ? e.hint : null,
        );
      } else if (CONNECTION_ERRORS.has(code) || /connect|terminat/i.test(String(e.message ?? ''))) {
        status = 503;
        body = errorBody(
          'PGRST000',
          'Could not connect with the database due to an incorrect db-uri or due to the PostgreSQL service not running.',
          String(e.message ?? ''),
        );
      } else {
        status = 500;
        body = errorBody('PGRSTX00', 'Internal server error', String(e.message ?? err));
      }
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(status, { 'content-type': JSON_TYPE }).end(JSON.stringify(body));
  }

  const server = createServer((req, res) => {
    requestCount++;
    const url = new URL(req.url ?? '/', 'http://gateway');
    const match = /^\/rest\/v1\/rpc\/([^/]+)$/.exec(url.pathname);
    const work = match
      ? handleRpc(req, res, url, decodeURIComponent(match[1]!))
      : Promise.reject(
          new HttpError(
            404,
            errorBody(
              'PGRST125',
              `Invalid path specified in request URL: ${url.pathname}`,
              'The local Supabase twin serves RPC only: POST /rest/v1/rpc/<function>.',
            ),
          ),
        );
    work.catch((err) => sendError(res, err));
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  return {
    url: `http://${host}:${port}`,
    port,
    requests: () => requestCount,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
