/**
 * An RPC call (`/rest/v1/rpc/<fn>`) as PostgREST plans it: the SQL calling the resolved function
 * with named arguments (or one json/jsonb argument) and shaping its result, or PostgREST's
 * PGRST202 (no such function) / PGRST203 (overloads it cannot choose between).
 */
import type { CatalogueFunction, Resolution } from './function-catalogue.ts';
import { errorBody, HttpError } from './postgrest-errors.ts';
import { quoteIdent } from './postgrest-query.ts';

export interface RpcPlan {
  fn: CatalogueFunction;
  /** Selects `body` (JSON text; and `n`, the row count, for set-returning functions). */
  sql: string;
  params: unknown[];
}

export function planRpc(
  schema: string,
  name: string,
  args: Record<string, unknown>,
  resolution: Resolution,
  /** The body's own JSON text, when `args` came from one: Postgres reads it as PostgREST passes it. */
  argsText?: string,
): RpcPlan {
  const keys = Object.keys(args);
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
  const sql = buildCall(resolution);
  // The body as sent, not re-serialised (a 10,000-row tick's record bodies are ~10 MB of JSON).
  const params =
    resolution.kind === 'named' && resolution.args.length === 0 ? [] : [argsText ?? JSON.stringify(args)];
  return { fn: resolution.fn, sql, params };
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
