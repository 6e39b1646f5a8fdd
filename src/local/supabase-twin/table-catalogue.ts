import type { SqlBackend } from './sql-backend.ts';

/** One table or view as PostgREST's schema cache sees it (the part the table endpoints need). */
export interface CatalogueTable {
  schema: string;
  name: string;
  columns: string[];
  /** Primary key columns (upsert's default conflict target). */
  primaryKey: string[];
}

const TABLES_SQL = `
  select n.nspname as schema, c.relname as name,
         array(select a.attname::text from pg_attribute a
               where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped order by a.attnum) as columns,
         coalesce((select array_agg(a.attname::text order by k.i)
                   from pg_index x cross join unnest(x.indkey) with ordinality k(attnum, i)
                   join pg_attribute a on a.attrelid = x.indrelid and a.attnum = k.attnum
                   where x.indrelid = c.oid and x.indisprimary), '{}'::text[]) as primary_key
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = any($1::text[]) and c.relkind in ('r', 'v', 'm', 'f', 'p')`;

export async function loadTableCatalogue(backend: SqlBackend, schemas: string[]): Promise<CatalogueTable[]> {
  const { rows } = await backend.query(TABLES_SQL, [schemas]);
  return rows.map((r) => ({
    schema: r.schema as string,
    name: r.name as string,
    columns: r.columns as string[],
    primaryKey: r.primary_key as string[],
  }));
}
