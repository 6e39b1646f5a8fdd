import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openEmbeddedDatabase } from '../../src/local/supabase-twin/embedded-database.ts';

describe('the template of new embedded databases', () => {
  const root = mkdtempSync(join(tmpdir(), 'vyx-template-'));
  const cache = join(root, 'cache');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const templateFile = () => {
    const [key] = readdirSync(cache).filter((n) => !n.startsWith('.'));
    return join(cache, key!, 'data', 'PG_VERSION');
  };

  it('gives a new data directory every migration, its own data, and drops a damaged template', async () => {
    // The first new data directory makes the template as it goes.
    const first = await openEmbeddedDatabase({ dataDir: join(root, 'a'), templateCache: cache });
    expect(first.migrations.applied.length).toBeGreaterThanOrEqual(2);
    await first.backend.query(
      `insert into cloud_machines (machine_id, user_id) values ('vyx-only-in-a', 'u1')`,
    );
    await first.close();
    expect(existsSync(templateFile())).toBe(true);

    // The next one is a copy of it: migrated, usable, and without the first one's rows.
    const second = await openEmbeddedDatabase({ dataDir: join(root, 'b'), templateCache: cache });
    expect(second.migrations.applied).toEqual(first.migrations.applied);
    await second.backend.query(`insert into cloud_machines (machine_id, user_id) values ('vyx-in-b', 'u2')`);
    const { rows } = await second.backend.query('select machine_id from cloud_machines');
    expect(rows.map((r) => r.machine_id)).toEqual(['vyx-in-b']);
    await second.close();

    // A damaged template and a copy a killed start left behind: neither is used.
    writeFileSync(templateFile(), '99\n');
    mkdirSync(join(root, 'c', 'pglite.partial-1'), { recursive: true });
    writeFileSync(join(root, 'c', 'pglite.partial-1', 'PG_VERSION'), '17\n');
    const third = await openEmbeddedDatabase({ dataDir: join(root, 'c'), templateCache: cache });
    const count = await third.backend.query('select count(*)::int as n from cloud_machines');
    expect(count.rows[0]?.n).toBe(0);
    await third.close();
    expect(readdirSync(join(root, 'c')).filter((n) => n.startsWith('pglite'))).toEqual(['pglite']);
    expect(readFileSync(templateFile(), 'utf8')).not.toBe('99\n');
  });
});
