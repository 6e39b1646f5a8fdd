// The local Supabase gateway: Supabase's API gateway and PostgREST in one, over any SqlBackend.
//
// What it does as Supabase does: the `apikey` check (a key the project issued, else 401), the bearer
// JWT verified with the project's JWT secret (HS256; expired → PGRST303, bad signature → PGRST301),
// the request run as the token's `role` (switched to only when `authenticator` may: custom roles
// need `grant <role> to authenticator`, as on Supabase) under Postgres's own grants and RLS, with
// PostgREST's request settings (`role`, `request.jwt.claims`, `request.method`, `request.path`,
// `request.headers`, `request.cookies`); RPC (`/rest/v1/rpc/<fn>`: named arguments, result
// shapes, SQLSTATE→HTTP, read-only GET and STABLE calls; postgrest-rpc.ts) and tables
// (`/rest/v1/<table>`, see postgrest-tables.ts and postgrest-query.ts for the subset).
//
// What still differs from PostgREST (v12/v13) and Supabase:
// - its catalogue reloads itself when a name is not found (no `NOTIFY pgrst, 'reload schema'`);
// - tables: no resource embedding, no `or=`/`and=` logic trees, no aliases/casts/JSON paths in
//   `select=`, no `Range` header (use `limit`/`offset`), no PUT, no `Prefer: tx=`, `missing=`,
//   `handling=`, `max-affected`, `count=planned|estimated` are counted exactly, no
//   `Preference-Applied`, `Location` or `Content-Location` headers, no CSV or other media types,
//   no views' `INSTEAD OF` subtleties beyond what Postgres does by itself;
// - JWT: HS256 only (no JWKS/asymmetric keys, no `aud` check, no `jwt-role-claim-key` setting);
//   the PGRST301 message texts are PostgREST 12's; Supabase's new opaque `sb_secret_…` keys are
//   modelled by `secretKeys` (run as service_role);
// - errors of the API gateway (Kong) carry PostgREST's body shape here, not Kong's `{"message"}`;
// - of Supabase Auth, only `GET /auth/v1/user` (auth-user.ts: who a session token names);
// - no `db-pre-request` hook, no response GUCs (`response.status`, `response.headers`), no
//   statement timeout per role, no `db-max-rows` cap.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { authUserAnswer } from './auth-user.ts';
import {
  type CatalogueFunction,
  loadFunctionCatalogue,
  type Resolution,
  resolveFunction,
} from './function-catalogue.ts';
import { authenticate, type GatewayKeys, isAnonymous, type RequestIdentity } from './gateway-auth.ts';
import { readJsonBody, readRpcArgs } from './gateway-request-body.ts';
import { errorAnswer, errorBody, HttpError } from './postgrest-errors.ts';
import { planRpc } from './postgrest-rpc.ts';
import { runTableRequest } from './postgrest-tables.ts';
import type { SqlBackend, SqlExecutor } from './sql-backend.ts';
import { type CatalogueTable, loadTableCatalogue } from './table-catalogue.ts';

export interface SupabaseGatewayOptions {
  backend: SqlBackend;
  /** The project's keys and JWT secret. */
  keys?: GatewayKeys;
  /** Shorthand for `keys`: one opaque secret key run as service_role (a random JWT secret). */
  serviceKey?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Exposed schemas; the first is the default (`Content-Profile`/`Accept-Profile` choose another). */
  schemas?: string[];
  /**
   * The schema cache as a previous gateway read it from the same schema (see SchemaMark): used
   * instead of reading it again when its schemas are these. Reloaded on a miss either way.
   */
  catalogue?: GatewayCatalogue;
}

/** What the gateway knows of the exposed schemas (PostgREST's schema cache). */
export interface GatewayCatalogue {
  schemas: string[];
  functions: CatalogueFunction[];
  tables: CatalogueTable[];
}

export interface SupabaseGateway {
  /** Base URL, as `SUPABASE_URL` (without `/rest/v1`). */
  url: string;
  port: number;
  /** Requests answered so far, for tests and benchmarks. */
  requests(): number;
  /** The schema cache as it is now. */
  catalogue(): GatewayCatalogue;
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** Starts the gateway (see the header comment for what it does and what still differs). */
export async function startSupabaseGateway(options: SupabaseGatewayOptions): Promise<SupabaseGateway> {
  const { backend } = options;
  const keys: GatewayKeys = options.keys ?? {
    jwtSecret: randomBytes(32).toString('hex'),
    apiKeys: [],
    secretKeys: options.serviceKey ? [options.serviceKey] : [],
  };
  const schemas = options.schemas ?? ['public'];
  const given = options.catalogue;
  const reuse = given !== undefined && given.schemas.join(',') === schemas.join(',');
  let catalogue: CatalogueFunction[] = reuse
    ? given.functions
    : await loadFunctionCatalogue(backend, schemas);
  let tables: CatalogueTable[] = reuse ? given.tables : await loadTableCatalogue(backend, schemas);
  const switchable = new Set<string>();
  let requestCount = 0;

  async function findTable(schema: string, name: string): Promise<CatalogueTable> {
    let t = tables.find((x) => x.schema === schema && x.name === name);
    if (!t) {
      tables = await loadTableCatalogue(backend, schemas);
      t = tables.find((x) => x.schema === schema && x.name === name);
    }
    if (!t) {
      throw new HttpError(
        404,
        errorBody('PGRST205', `Could not find the table '${schema}.${name}' in the schema cache`),
      );
    }
    return t;
  }

  /**
   * Opens the request's transaction as PostgREST does: switches to the token's role (only one
   * `authenticator` is a member of, where that role exists) and sets the request settings.
   */
  async function asRequest<T>(
    req: IncomingMessage,
    path: string,
    identity: RequestIdentity,
    readOnly: boolean,
    fn: (tx: SqlExecutor) => Promise<T>,
  ): Promise<T> {
    return backend.transaction(
      async (tx) => {
        if (!switchable.has(identity.role)) {
          const { rows } = await tx.query(
            `select case
               when not exists (select 1 from pg_roles where rolname = 'authenticator')
                 or not exists (select 1 from pg_roles where rolname = $1) then true
               else pg_has_role('authenticator', $1, 'member') end as ok`,
            [identity.role],
          );
          if (rows[0]?.ok !== true) {
            throw new HttpError(403, errorBody('42501', `permission denied to set role "${identity.role}"`));
          }
          switchable.add(identity.role);
        }
        const headers = Object.fromEntries(
          Object.entries(req.headers).filter(([, v]) => typeof v === 'string'),
        );
        await tx.query(
          `select set_config('role', $1, true), set_config('request.jwt.claims', $2, true),
                  set_config('request.method', $3, true), set_config('request.path', $4, true),
                  set_config('request.headers', $5, true), set_config('request.cookies', '{}', true)`,
          [
            identity.role,
            JSON.stringify(identity.claims),
            req.method ?? 'GET',
            path,
            JSON.stringify(headers),
          ],
        );
        return fn(tx);
      },
      { readOnly },
    );
  }

  async function resolve(schema: string, name: string, keys: string[]): Promise<Resolution> {
    let r = resolveFunction(catalogue, schema, name, keys);
    if (r.kind === 'none') {
      catalogue = await loadFunctionCatalogue(backend, schemas);
      r = resolveFunction(catalogue, schema, name, keys);
    }
    return r;
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

  async function handleRpc(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    name: string,
    identity: RequestIdentity,
  ): Promise<void> {
    if (!['GET', 'HEAD', 'POST'].includes(req.method ?? '')) {
      throw new HttpError(
        405,
        errorBody('PGRST101', 'Only GET, HEAD and POST verbs are allowed for functions'),
      );
    }
    const schema = chooseSchema(req);
    const { args, text } = await readRpcArgs(req, url);
    const keys = Object.keys(args);
    const resolution = await resolve(schema, name, keys);
    const { fn, sql, params } = planRpc(schema, name, args, resolution, text);
    const readOnly = req.method === 'GET' || req.method === 'HEAD' || fn.readOnly;
    const row = await asRequest(req, url.pathname, identity, readOnly, async (tx) => {
      const r = await tx.query(sql, params);
      return r.rows[0];
    });
    if (fn.returnsVoid) {
      res.writeHead(204).end();
      return;
    }
    const body = String(row?.body ?? 'null');
    const headers: Record<string, string> = { 'content-type': JSON_TYPE };
    if (fn.returnsSet) {
      const n = Number(row?.n ?? 0);
      const total = String(req.headers.prefer ?? '').includes('count=exact') ? String(n) : '*';
      headers['content-range'] = n > 0 ? `0-${n - 1}/${total}` : `*/${total}`;
    }
    res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : body);
  }

  async function handleTable(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    name: string,
    identity: RequestIdentity,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const schema = chooseSchema(req);
    const table = await findTable(schema, name);
    const body = method === 'GET' || method === 'HEAD' ? undefined : (await readJsonBody(req))?.value;
    const accept = String(req.headers.accept ?? '');
    const answer = await asRequest(req, url.pathname, identity, method === 'GET' || method === 'HEAD', (tx) =>
      runTableRequest(tx, table, {
        method,
        url,
        prefer: String(req.headers.prefer ?? ''),
        singular: accept.includes('application/vnd.pgrst.object+json'),
        body,
      }),
    );
    res.writeHead(answer.status, answer.headers).end(answer.body);
  }

  function sendError(res: ServerResponse, err: unknown, anonymous: boolean): void {
    const { status, body } = errorAnswer(err, anonymous);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(status, { 'content-type': JSON_TYPE }).end(JSON.stringify(body));
  }

  const server = createServer((req, res) => {
    requestCount++;
    const url = new URL(req.url ?? '/', 'http://gateway');
    const rpc = /^\/rest\/v1\/rpc\/([^/]+)$/.exec(url.pathname);
    const table = /^\/rest\/v1\/([^/]+)$/.exec(url.pathname);
    let anonymous = true;
    if (url.pathname === '/auth/v1/user') {
      // Supabase Auth's "who is this token": the edge function's authentication.
      const { status, body } = authUserAnswer(req, keys);
      res.writeHead(status, { 'content-type': JSON_TYPE }).end(JSON.stringify(body));
      return;
    }
    const work = async () => {
      if (!rpc && !table) {
        throw new HttpError(
          404,
          errorBody('PGRST125', `Invalid path specified in request URL: ${url.pathname}`),
        );
      }
      const identity = authenticate(req, keys);
      anonymous = isAnonymous(identity);
      if (rpc) await handleRpc(req, res, url, decodeURIComponent(rpc[1]!), identity);
      else await handleTable(req, res, url, decodeURIComponent(table![1]!), identity);
    };
    work().catch((err) => sendError(res, err, anonymous));
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
    catalogue: () => ({ schemas: [...schemas], functions: catalogue, tables }),
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
