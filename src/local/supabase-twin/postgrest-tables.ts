import { errorBody, HttpError } from './postgrest-errors.ts';
import { parseTableQuery, quoteIdent, rowJson, type TableQuery } from './postgrest-query.ts';
import type { SqlExecutor } from './sql-backend.ts';
import type { CatalogueTable } from './table-catalogue.ts';

/**
 * PostgREST's table endpoints (`/rest/v1/<table>`) for GET/HEAD (read), POST (insert, upsert with
 * `Prefer: resolution=…`), PATCH (update) and DELETE, answered as postgrest `src/PostgREST/Response.hs`
 * does: statuses, `Content-Range` (`RangeQuery.contentRangeH`), `Prefer: return=…|count=exact`, and
 * the singular media type (`.single()`: anything but one row is 406 PGRST116 and a mutation is
 * rolled back). Runs inside the caller's transaction, already switched to the request's role.
 */
export interface TableRequest {
  method: string;
  url: URL;
  prefer: string;
  /** `Accept: application/vnd.pgrst.object+json` (supabase-js `.single()`). */
  singular: boolean;
  body: unknown;
}

export interface TableAnswer {
  status: number;
  headers: Record<string, string>;
  body?: string;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const OBJECT_TYPE = 'application/vnd.pgrst.object+json; charset=utf-8';

function preferences(prefer: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of prefer.split(',')) {
    const [k, v] = part.trim().split('=');
    if (k && v) m.set(k.trim(), v.trim());
  }
  return m;
}

/** `RangeQuery.contentRangeH`: `lower-upper/total`, `*` for an empty range or an unknown total. */
function contentRange(lower: number, upper: number, total: number | undefined): string {
  const range = total !== 0 && lower <= upper ? `${lower}-${upper}` : '*';
  return `${range}/${total ?? '*'}`;
}

function bodyRows(body: unknown, multiple: boolean): Record<string, unknown>[] {
  const rows = Array.isArray(body) && multiple ? body : [body];
  if (rows.length === 0 && multiple) return [];
  for (const r of rows) {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) {
      throw new HttpError(400, errorBody('PGRST102', 'Empty or invalid json'));
    }
  }
  const keys = Object.keys(rows[0] as object)
    .sort()
    .join(',');
  for (const r of rows) {
    if (
      Object.keys(r as object)
        .sort()
        .join(',') !== keys
    ) {
      throw new HttpError(400, errorBody('PGRST102', 'All object keys must match'));
    }
  }
  return rows as Record<string, unknown>[];
}

function checkColumns(table: CatalogueTable, names: string[]): void {
  for (const name of names) {
    if (!table.columns.includes(name)) {
      throw new HttpError(
        400,
        errorBody('PGRST204', `Could not find the '${name}' column of '${table.name}' in the schema cache`),
      );
    }
  }
}

const singularError = (n: number) =>
  new HttpError(
    406,
    errorBody(
      'PGRST116',
      'Cannot coerce the result to a single JSON object',
      `The result contains ${n} rows`,
    ),
  );

export async function runTableRequest(
  tx: SqlExecutor,
  table: CatalogueTable,
  request: TableRequest,
): Promise<TableAnswer> {
  const q: TableQuery = parseTableQuery(table, request.url);
  const prefs = preferences(request.prefer);
  const counting = prefs.get('count') !== undefined;
  const representation = prefs.get('return') === 'representation';
  const target = `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
  const type = request.singular ? OBJECT_TYPE : JSON_TYPE;

  /** Aggregates the CTE `_m(_row[, _ins])` into the answer: body, one row, row count, inserted count. */
  const collect = (cte: string, withInserted = false) =>
    `with _m as (${cte}) select coalesce(json_agg(_row), '[]')::text as body, (json_agg(_row) -> 0)::text as one,
       count(*)::int as n, ${withInserted ? 'count(*) filter (where _ins)::int' : '0'} as inserted from _m`;

  const finish = (r: Record<string, unknown>) => {
    const n = Number(r.n);
    if (request.singular && n !== 1) throw singularError(n);
    return { n, body: request.singular ? String(r.one) : String(r.body), inserted: Number(r.inserted) };
  };

  if (request.method === 'GET' || request.method === 'HEAD') {
    const inner = `select ${rowJson(q)} as _row from ${target} _t where ${q.where}${q.order ? ` order by ${q.order}` : ''}${
      q.limit !== undefined ? ` limit ${q.limit}` : ''
    }${q.offset ? ` offset ${q.offset}` : ''}`;
    const rows = await tx.query(collect(inner), q.params);
    const { n, body } = finish(rows.rows[0] ?? {});
    let total: number | undefined;
    if (counting) {
      const c = await tx.query(`select count(*)::int as total from ${target} _t where ${q.where}`, q.params);
      total = Number(c.rows[0]?.total);
    }
    const lower = q.offset;
    const upper = lower + n - 1;
    let status = 200;
    if (total !== undefined && lower > total) status = 416;
    else if (total !== undefined && upper - lower + 1 < total) status = 206;
    return {
      status,
      headers: { 'content-type': type, 'content-range': contentRange(lower, upper, total) },
      ...(request.method === 'GET' ? { body } : {}),
    };
  }

  if (request.method === 'POST') {
    const rows = bodyRows(request.body, true);
    const columns = q.columns ?? Object.keys(rows[0] ?? {});
    checkColumns(table, columns);
    const resolution = prefs.get('resolution');
    const conflict = q.onConflict ?? table.primaryKey;
    let onConflict = '';
    if (resolution === 'merge-duplicates' || resolution === 'ignore-duplicates') {
      const updates = columns.filter((c) => !conflict.includes(c));
      onConflict =
        resolution === 'ignore-duplicates' || updates.length === 0
          ? ` on conflict (${conflict.map(quoteIdent).join(', ')}) do nothing`
          : ` on conflict (${conflict.map(quoteIdent).join(', ')}) do update set ${updates
              .map((c) => `${quoteIdent(c)} = excluded.${quoteIdent(c)}`)
              .join(', ')}`;
    }
    const cols = columns.map(quoteIdent).join(', ');
    const source = columns.length
      ? `(${cols}) select ${cols} from json_populate_recordset(null::${target}, $${q.params.length + 1}::json)`
      : 'default values';
    const insert = `insert into ${target} as _t ${source}${onConflict} returning ${representation ? rowJson(q) : 'null::json'} as _row${
      onConflict ? ', (_t.xmax = 0) as _ins' : ''
    }`;
    const r = await tx.query(
      collect(insert, onConflict !== ''),
      columns.length ? [...q.params, JSON.stringify(rows)] : q.params,
    );
    const { n, body, inserted } = finish(r.rows[0] ?? {});
    const status = resolution === 'merge-duplicates' && onConflict && inserted <= 0 ? 200 : 201;
    const headers: Record<string, string> = { 'content-range': contentRange(1, 0, counting ? n : undefined) };
    if (representation) return { status, headers: { ...headers, 'content-type': type }, body };
    return { status, headers };
  }

  if (request.method === 'PATCH') {
    const [row] = bodyRows(request.body, false);
    const columns = Object.keys(row ?? {});
    checkColumns(table, columns);
    const payload = `$${q.params.length + 1}::json`;
    const update = columns.length
      ? `update ${target} as _t set ${columns.map((c) => `${quoteIdent(c)} = _b.${quoteIdent(c)}`).join(', ')}
         from (select * from json_populate_record(null::${target}, ${payload})) _b
         where ${q.where} returning ${representation ? rowJson(q) : 'null::json'} as _row`
      : `select null::json as _row where false and ${payload} is not null`;
    const r = await tx.query(collect(update), [...q.params, JSON.stringify(row)]);
    const { n, body } = finish(r.rows[0] ?? {});
    const headers: Record<string, string> = {
      'content-range': contentRange(0, n - 1, counting ? n : undefined),
    };
    if (representation) return { status: 200, headers: { ...headers, 'content-type': type }, body };
    return { status: 204, headers };
  }

  if (request.method === 'DELETE') {
    const del = `delete from ${target} as _t where ${q.where} returning ${representation ? rowJson(q) : 'null::json'} as _row`;
    const r = await tx.query(collect(del), q.params);
    const { n, body } = finish(r.rows[0] ?? {});
    const headers: Record<string, string> = { 'content-range': contentRange(1, 0, counting ? n : undefined) };
    if (representation) return { status: 200, headers: { ...headers, 'content-type': type }, body };
    return { status: 204, headers };
  }

  throw new HttpError(
    405,
    errorBody(
      'PGRST117',
      `Unsupported HTTP method: ${request.method}`,
      'The local Supabase twin serves GET, HEAD, POST, PATCH and DELETE on tables.',
    ),
  );
}
