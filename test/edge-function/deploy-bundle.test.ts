import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSupabaseCli } from '../helpers/supabase-cli.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Upload {
  url: string;
  metadata: Record<string, unknown>;
  files: Map<string, string>;
}

/** Splits a multipart/form-data body into its named parts (what the CLI uploads). */
function parseMultipart(
  body: Buffer,
  contentType: string,
): { fields: Map<string, string>; files: Map<string, string> } {
  const boundary = /boundary=(.+)$/.exec(contentType)?.[1] ?? '';
  const fields = new Map<string, string>();
  const files = new Map<string, string>();
  for (const part of body.toString('utf8').split(`--${boundary}`)) {
    const head = part.indexOf('\r\n\r\n');
    if (head < 0) continue;
    const headers = part.slice(0, head);
    const content = part.slice(head + 4).replace(/\r\n$/, '');
    const name = /name="([^"]+)"/.exec(headers)?.[1];
    const file = /filename="([^"]+)"/.exec(headers)?.[1];
    if (file) files.set(file, content);
    else if (name) fields.set(name, content);
  }
  return { fields, files };
}

// `supabase functions deploy --use-api` (no Docker: Supabase bundles server-side from the files
// the CLI uploads) with the pinned CLI, against a stand-in for the Management API on loopback
// (a CLI profile points it there): which files does the bundle get?
describe('deploying the edge function with the pinned Supabase CLI', () => {
  let server: Server;
  let home: string;
  const uploads: Upload[] = [];
  const requests: string[] = [];

  beforeAll(async () => {
    home = mkdtempSync(path.join(tmpdir(), 'vyx-deploy-'));
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        requests.push(`${req.method} ${req.url}`);
        const url = req.url ?? '';
        if (req.method === 'GET' && /\/functions$/.test(url)) {
          res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
          return;
        }
        if (req.method === 'POST' && url.includes('/functions/deploy')) {
          const { fields, files } = parseMultipart(
            Buffer.concat(chunks),
            String(req.headers['content-type']),
          );
          uploads.push({ url, metadata: JSON.parse(fields.get('metadata') ?? '{}'), files });
          res.writeHead(201, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              id: 'fn-1',
              slug: 'provision-machine',
              name: 'provision-machine',
              status: 'ACTIVE',
              version: 1,
            }),
          );
          return;
        }
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not found"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('uploads the function with the shared contract from src/, and nothing that needs Node', async () => {
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const profile = path.join(home, 'profile.yaml');
    writeFileSync(
      profile,
      `name: loopback\napi_url: ${origin}\ndashboard_url: ${origin}\nproject_host: localhost\n`,
    );
    const run = await runSupabaseCli(
      [
        'functions',
        'deploy',
        'provision-machine',
        '--use-api',
        '--project-ref',
        'abcdefghijklmnopqrst',
        '--profile',
        profile,
        '--debug',
      ],
      ROOT,
      { HOME: home, SUPABASE_ACCESS_TOKEN: `sbp_${'0123456789abcdef'.repeat(2)}01234567` },
    );
    expect(run.output).toContain('Deployed Functions on project abcdefghijklmnopqrst: provision-machine');
    expect(run.code).toBe(0);
    // Every call the CLI made went to the stand-in.
    const calls = [...run.output.matchAll(/HTTP (?:GET|POST|PATCH|PUT|DELETE): (\S+)/g)].map((m) => m[1]!);
    expect(calls.length).toBeGreaterThan(0);
    for (const url of calls) expect(url.startsWith(origin)).toBe(true);

    expect(uploads).toHaveLength(1);
    const upload = uploads[0]!;
    expect(upload.url).toContain('slug=provision-machine');
    expect(upload.metadata).toMatchObject({
      entrypoint_path: 'supabase/functions/provision-machine/index.ts',
      import_map_path: 'supabase/functions/provision-machine/deno.json',
    });
    const names = [...upload.files.keys()];
    for (const shared of [
      'src/contract/machine-env.ts',
      'src/contract/machine-metadata.ts',
      'src/contract/machine-status.ts',
      'src/errors/vyx-error.ts',
      'src/diagnose/preflight-image.ts',
      'src/fly/image-ref.ts',
    ]) {
      expect(names).toContain(shared);
    }
    // The bundle is the repository's files as they are (no copy), and none of them is Node-only.
    for (const [name, content] of upload.files) {
      expect(content).toBe(readFileSync(path.join(ROOT, name), 'utf8'));
      expect(content, name).not.toMatch(/from '(node:|undici|pg|@supabase\/supabase-js)/);
    }
    // zod resolves through the uploaded deno.json, at the version package-lock.json installs.
    const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
    const denoJson = JSON.parse(upload.files.get('supabase/functions/provision-machine/deno.json') ?? '{}');
    expect(denoJson.imports.zod).toBe(`npm:zod@${lock.packages['node_modules/zod'].version}`);
  });
});
