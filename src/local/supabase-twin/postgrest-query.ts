import { errorBody, HttpError } from './postgrest-errors.ts';
import type { CatalogueTable } from './table-catalogue.ts';

/**
 * PostgREST's query string for tables, the subset supabase-js's builders send: `select=` (columns,
 * `*`), horizontal filters `col=op.value` with eq, neq, gt, gte, lt, lte, like, ilike, is, in and
 * their `not.` forms, `order=`, `limit=`, `offset=`, `on_conflict=`, `columns=`. Values go to
 * Postgres as untyped parameters, so each takes its column's type (a uuid column compares as uuid)
 * exactly as PostgREST's unknown-typed literals do. Anything else is refused with PGRST100, never
 * ignored.
 */
export interface TableQuery {
  select: string[] | '*';
  where: string;
  params: unknown[];
  order: string;
  limit: number | undefined;
  offset: number;
  onConflict: string[] | undefined;
  columns: string[] | undefined;
}
// Conditions and order terms name columns as `_t."col"`: the statements alias the table `_t`.

export const quoteIdent = (s: string) => `"${s.replaceAll('"', '""')}"`;

const OPS: Record<string, string> = { eq: '=', neq: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=' };
const RESERVED = new Set(['select', 'order', 'limit', 'offset', 'on_conflict', 'columns']);

const badQuery = (message: string, details: string | null = null) =>
  new HttpError(400, errorBody('PGRST100', message, details));

function columnOf(table: CatalogueTable, name: string): string {
  if (!table.columns.includes(name)) {
    throw new HttpError(400, errorBody('42703', `column ${table.name}.${name} does not exist`));
  }
  return `_t.${quoteIdent(name)}`;
}

/** `in.(a,"b,c",d)` → ['a', 'b,c', 'd'] (PostgREST's list syntax: double quotes, backslash escapes). */
function parseList(raw: string): string[] {
  if (!raw.startsWith('(') || !raw.endsWith(')')) throw badQuery(`"failed to parse filter (in.${raw})"`);
  const body = raw.slice(1, -1);
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let wasQuoted = false;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (quoted) {
      if (ch === '\\' && i + 1 < body.length) cur += body[++i];
      else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') {
      quoted = true;
      wasQuoted = true;
    } else if (ch === ',') {
      out.push(wasQuoted ? cur : cur.trim());
      cur = '';
      wasQuoted = false;
    } else cur += ch;
  }
  if (body !== '') out.push(wasQuoted ? cur : cur.trim());
  return out;
}

function columnList(table: CatalogueTable, raw: string): string[] {
  return raw
    .split(',')
    .map((c) => c.trim().replace(/^"(.*)"$/, '$1'))
    .filter((c) => c !== '')
    .map((c) => {
      columnOf(table, c);
      return c;
    });
}

export function parseTableQuery(table: CatalogueTable, url: URL): TableQuery {
  const params: unknown[] = [];
  const where: string[] = [];
  const param = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  for (const [key, raw] of url.searchParams) {
    if (RESERVED.has(key)) continue;
    if (key === 'or' || key === 'and' || key.includes('.')) {
      throw badQuery(`"${key}" filters are not supported by the local Supabase twin`);
    }
    const col = columnOf(table, key);
    let rest = raw;
    let negate = false;
    if (rest.startsWith('not.')) {
      negate = true;
      rest = rest.slice(4);
    }
    const dot = rest.indexOf('.');
    if (dot < 0) throw badQuery(`"failed to parse filter (${raw})"`, `unexpected end of input in ${key}`);
    const op = rest.slice(0, dot);
    const value = rest.slice(dot + 1);
    let cond: string;
    if (op in OPS) cond = `${col} ${OPS[op]} ${param(value)}`;
    else if (op === 'like' || op === 'ilike') {
      cond = `${col} ${op === 'like' ? 'like' : 'ilike'} ${param(value.replaceAll('*', '%'))}`;
    } else if (op === 'is') {
      const v = value.toLowerCase();
      if (!['null', 'true', 'false', 'unknown', 'not_null'].includes(v)) {
        throw badQuery(
          `"failed to parse filter (${raw})"`,
          'is accepts null, not_null, true, false or unknown',
        );
      }
      cond = v === 'not_null' ? `${col} is not null` : `${col} is ${v}`;
    } else if (op === 'in') {
      const list = parseList(value);
      cond = list.length === 0 ? 'false' : `${col} in (${list.map((v) => param(v)).join(', ')})`;
    } else {
      throw badQuery(`"failed to parse filter (${raw})"`, `unknown or unsupported operator ${op}`);
    }
    where.push(negate ? `not (${cond})` : cond);
  }

  const selectRaw = url.searchParams.get('select');
  let select: TableQuery['select'] = '*';
  if (selectRaw !== null && selectRaw.trim() !== '*' && selectRaw.trim() !== '') {
    select = selectRaw.split(',').map((c) => {
      const name = c.trim();
      if (name === '*') throw badQuery('"*" mixed with columns is not supported by the local Supabase twin');
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        throw badQuery(
          `"failed to parse select parameter (${selectRaw})"`,
          'the twin takes plain column names (no aliases, casts or embedding)',
        );
      }
      columnOf(table, name);
      return name;
    });
  }

  const orderRaw = url.searchParams.get('order');
  const order = orderRaw
    ? orderRaw
        .split(',')
        .map((term) => {
          const [name = '', ...mods] = term.trim().split('.');
          const parts = [columnOf(table, name)];
          for (const m of mods) {
            if (m === 'asc' || m === 'desc') parts.push(m);
            else if (m === 'nullsfirst') parts.push('nulls first');
            else if (m === 'nullslast') parts.push('nulls last');
            else throw badQuery(`"failed to parse order (${orderRaw})"`);
          }
          return parts.join(' ');
        })
        .join(', ')
    : '';

  const int = (name: string) => {
    const v = url.searchParams.get(name);
    if (v === null) return undefined;
    if (!/^\d+$/.test(v)) throw badQuery(`"failed to parse ${name} (${v})"`);
    return Number(v);
  };
  const onConflictRaw = url.searchParams.get('on_conflict');
  const columnsRaw = url.searchParams.get('columns');
  return {
    select,
    where: where.length ? where.join(' and ') : 'true',
    params,
    order,
    limit: int('limit'),
    offset: int('offset') ?? 0,
    onConflict: onConflictRaw ? columnList(table, onConflictRaw) : undefined,
    columns: columnsRaw ? columnList(table, columnsRaw) : undefined,
  };
}

/** One row as JSON for a `select=` (over the relation aliased `_t`), columns in the order asked. */
export const rowJson = (q: TableQuery) =>
  q.select === '*'
    ? 'to_json(_t.*)'
    : `json_build_object(${q.select.map((c) => `${quoteLiteral(c)}, _t.${quoteIdent(c)}`).join(', ')})`;

const quoteLiteral = (s: string) => `'${s.replaceAll("'", "''")}'`;
