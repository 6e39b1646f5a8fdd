import type { SqlBackend } from './sql-backend.ts';

/** One callable SQL function as PostgREST's schema cache sees it. */
export interface CatalogueFunction {
  schema: string;
  name: string;
  /** Input parameters in order (IN, INOUT, VARIADIC), with their SQL types. */
  params: { name: string; type: string }[];
  /** How many trailing input parameters have defaults. */
  defaults: number;
  returnsSet: boolean;
  returnsVoid: boolean;
  /** STABLE or IMMUTABLE: PostgREST runs these read-only even over POST. */
  readOnly: boolean;
}

const CATALOGUE_SQL = `
  select n.nspname as schema, p.proname as name,
         coalesce(p.proargnames, '{}'::text[]) as arg_names,
         coalesce(p.proargmodes::text[], '{}'::text[]) as arg_modes,
         coalesce((select array_agg(format_type(t.oid, null) order by u.i)
                   from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) with ordinality u(oid, i)
                   join pg_type t on t.oid = u.oid), '{}'::text[]) as arg_types,
         p.pronargdefaults as defaults, p.proretset as returns_set,
         p.prorettype = 'void'::regtype as returns_void, p.provolatile as volatility
  from pg_proc p join pg_namespace n on n.oid = p.pronamespace
  where n.nspname = any($1::text[]) and p.prokind = 'f' and p.prorettype <> 'trigger'::regtype`;

/** Reads the functions of the exposed schemas (PostgREST's schema cache, the part RPC needs). */
export async function loadFunctionCatalogue(
  backend: SqlBackend,
  schemas: string[],
): Promise<CatalogueFunction[]> {
  const { rows } = await backend.query(CATALOGUE_SQL, [schemas]);
  return rows.map((r) => {
    const names = r.arg_names as string[];
    const modes = r.arg_modes as string[];
    const types = r.arg_types as string[];
    const params: { name: string; type: string }[] = [];
    types.forEach((type, i) => {
      const mode = modes[i] ?? 'i';
      if (mode === 'i' || mode === 'b' || mode === 'v') params.push({ name: names[i] ?? '', type });
    });
    return {
      schema: r.schema as string,
      name: r.name as string,
      params,
      defaults: Number(r.defaults),
      returnsSet: r.returns_set as boolean,
      returnsVoid: r.returns_void as boolean,
      readOnly: r.volatility === 's' || r.volatility === 'i',
    };
  });
}

export type Resolution =
  | { kind: 'named'; fn: CatalogueFunction; args: string[] }
  | { kind: 'single-json'; fn: CatalogueFunction }
  | { kind: 'none' }
  | { kind: 'ambiguous'; candidates: CatalogueFunction[] };

/**
 * Picks the overload PostgREST would call for these argument names: every given key names a
 * parameter, every parameter without a default is given; else a single unnamed json/jsonb parameter
 * takes the whole body.
 */
export function resolveFunction(
  catalogue: CatalogueFunction[],
  schema: string,
  name: string,
  keys: string[],
): Resolution {
  const candidates = catalogue.filter((f) => f.schema === schema && f.name === name);
  const named = candidates.filter((f) => {
    const required = f.params.slice(0, f.params.length - f.defaults).map((p) => p.name);
    const all = new Set(f.params.map((p) => p.name));
    return keys.every((k) => all.has(k)) && required.every((r) => keys.includes(r));
  });
  if (named.length === 1) {
    const fn = named[0]!;
    return { kind: 'named', fn, args: fn.params.map((p) => p.name).filter((n) => keys.includes(n)) };
  }
  if (named.length > 1) return { kind: 'ambiguous', candidates: named };
  const single = candidates.find(
    (f) => f.params.length === 1 && f.params[0]!.name === '' && /^jsonb?$/.test(f.params[0]!.type),
  );
  return single ? { kind: 'single-json', fn: single } : { kind: 'none' };
}
