/**
 * The registry client against a real OCI registry: Debian's `docker-registry` (CNCF distribution)
 * on loopback behind htpasswd auth, with an image pushed by the test itself.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryClient } from '../../src/fly/registry-client.ts';
import { createFlyEmulator } from '../../src/local/fly-emulator/fly-emulator.ts';

const TOKEN = `fm2_${randomBytes(12).toString('hex')}`;
const REPO = 'vyx-app';
let registry: ChildProcess | undefined;
let registryLog = '';
let dir = '';
let origin = '';
let pushedDigest = '';
let ociDigest = '';

function which(command: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const auth = `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`;

async function pushBlob(data: Buffer): Promise<string> {
  const digest = sha256(data);
  const start = await request(`${origin}/v2/${REPO}/blobs/uploads/`, {
    method: 'POST',
    headers: { authorization: auth },
  });
  await start.body.dump();
  expect(start.statusCode, 'blob upload start').toBe(202);
  const location = new URL(String(start.headers.location), origin);
  location.searchParams.set('digest', digest);
  const put = await request(location.toString(), {
    method: 'PUT',
    headers: {
      authorization: auth,
      'content-type': 'application/octet-stream',
      'content-length': String(data.length),
    },
    body: data,
  });
  const text = await put.body.text();
  expect(put.statusCode, `blob upload: ${text}`).toBe(201);
  return digest;
}

async function pushManifest(tag: string, manifest: object, mediaType: string): Promise<string> {
  const body = JSON.stringify(manifest);
  const put = await request(`${origin}/v2/${REPO}/manifests/${tag}`, {
    method: 'PUT',
    headers: { authorization: auth, 'content-type': mediaType },
    body,
  });
  const text = await put.body.text();
  expect(put.statusCode, `manifest put: ${text}`).toBe(201);
  expect(put.headers['docker-content-digest']).toBe(sha256(body));
  return sha256(body);
}

beforeAll(async () => {
  const binary = which('docker-registry');
  const htpasswd = which('htpasswd');
  if (!binary || !htpasswd) {
    throw new Error(
      'The registry tests need a real OCI registry: install Debian packages `docker-registry` and ' +
        '`apache2-utils` (apt-get install -y docker-registry apache2-utils; .ci/run does this).',
    );
  }
  dir = mkdtempSync(path.join(tmpdir(), 'vyx-registry-'));
  execFileSync(htpasswd, ['-Bbc', path.join(dir, 'htpasswd'), 'x', TOKEN]);
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  writeFileSync(
    path.join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(dir, 'data')}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      `  secret: ${randomBytes(8).toString('hex')}`,
      'auth:',
      '  htpasswd:',
      '    realm: vyx-test-registry',
      `    path: ${path.join(dir, 'htpasswd')}`,
      '',
    ].join('\n'),
  );
  registry = spawn(binary, ['serve', path.join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  registry.stdout?.on('data', (chunk: Buffer) => {
    registryLog += chunk.toString();
  });
  registry.stderr?.on('data', (chunk: Buffer) => {
    registryLog += chunk.toString();
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const probe = await request(`${origin}/v2/`);
      await probe.body.dump();
      if (probe.statusCode === 401) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || registry.exitCode !== null) {
      throw new Error(`docker-registry did not start on ${origin}:\n${registryLog}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const layer = randomBytes(256);
  const layerDigest = await pushBlob(layer);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [layerDigest] },
      config: {},
    }),
  );
  const configDigest = await pushBlob(config);
  pushedDigest = await pushManifest(
    'deployment-01K6JV132H7B7Y5PP8Y5QSR23X',
    {
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: {
        mediaType: 'application/vnd.docker.container.image.v1+json',
        size: config.length,
        digest: configDigest,
      },
      layers: [
        {
          mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
          size: layer.length,
          digest: layerDigest,
        },
      ],
    },
    'application/vnd.docker.distribution.manifest.v2+json',
  );
  ociDigest = await pushManifest(
    'oci',
    {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        size: config.length,
        digest: configDigest,
      },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: layer.length, digest: layerDigest },
      ],
    },
    'application/vnd.oci.image.manifest.v1+json',
  );
});

afterAll(async () => {
  if (registry && registry.exitCode === null) {
    const exited = new Promise((resolve) => registry?.once('exit', resolve));
    registry.kill('SIGTERM');
    const timer = setTimeout(() => registry?.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const hosts: string[] = [];
const client = (token: string) =>
  createRegistryClient({
    token,
    baseUrlFor: (host) => {
      hosts.push(host);
      return origin;
    },
  });

describe('registry client against a real OCI registry (docker-registry, htpasswd)', () => {
  it('a pushed tag exists, with the digest the registry computed', async () => {
    const check = await client(TOKEN).checkImage(
      `registry.fly.io/${REPO}:deployment-01K6JV132H7B7Y5PP8Y5QSR23X`,
    );
    expect(check).toMatchObject({ status: 'exists', digest: pushedDigest });
    expect(hosts).toContain('registry.fly.io');
  });

  it('an OCI manifest and a digest reference exist too', async () => {
    expect(await client(TOKEN).checkImage(`registry.fly.io/${REPO}:oci`)).toMatchObject({
      status: 'exists',
      digest: ociDigest,
    });
    expect(await client(TOKEN).checkImage(`registry.fly.io/${REPO}@${pushedDigest}`)).toMatchObject({
      status: 'exists',
      digest: pushedDigest,
    });
  });

  it('a FlyV1-prefixed token is sent bare, as flyctl does', async () => {
    expect((await client(`FlyV1 ${TOKEN}`).checkImage(`registry.fly.io/${REPO}:oci`)).status).toBe('exists');
  });

  it('a tag that was never pushed is missing (the incident: vyx-app:stub)', async () => {
    const check = await client(TOKEN).checkImage(`registry.fly.io/${REPO}:stub`);
    expect(check).toMatchObject({ status: 'missing', httpStatus: 404, errorCode: 'MANIFEST_UNKNOWN' });
  });

  it('a repository that does not exist is missing', async () => {
    const check = await client(TOKEN).checkImage('registry.fly.io/no-such-app:latest');
    expect(check.status).toBe('missing');
    if (check.status === 'missing') expect(['NAME_UNKNOWN', 'MANIFEST_UNKNOWN']).toContain(check.errorCode);
  });

  it('wrong credentials are unknown, never missing — even for a tag that does not exist', async () => {
    for (const ref of [`registry.fly.io/${REPO}:stub`, `registry.fly.io/${REPO}:oci`]) {
      const check = await client('fm2_wrong').checkImage(ref);
      // The registry's own error code is kept, so the card can say why it could not check.
      expect(check).toMatchObject({ status: 'unknown', httpStatus: 401, errorCode: 'UNAUTHORIZED' });
    }
  });

  it('no credentials are unknown, never missing', async () => {
    const check = await client('').checkImage(`registry.fly.io/${REPO}:stub`);
    expect(check).toMatchObject({ status: 'unknown', httpStatus: 401 });
  });
});

describe('registry client when the registry cannot answer', () => {
  it('5xx, refused connections and timeouts are unknown', async () => {
    const failing = createHttpServer((_req, res) => {
      res.writeHead(503);
      res.end();
    });
    const held = new Set<import('node:net').Socket>();
    const silent: Server = createServer((socket) => {
      held.add(socket);
    });
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const closedPort = await freePort();
    const at = (url: string, timeoutMs = 5_000) =>
      createRegistryClient({ token: TOKEN, baseUrlFor: () => url, timeoutMs });
    try {
      const ref = `registry.fly.io/${REPO}:stub`;
      const port = (server: { address(): unknown }) => (server.address() as { port: number }).port;
      expect(await at(`http://127.0.0.1:${port(failing)}`).checkImage(ref)).toMatchObject({
        status: 'unknown',
        httpStatus: 503,
      });
      expect((await at(`http://127.0.0.1:${closedPort}`).checkImage(ref)).status).toBe('unknown');
      const timedOut = await at(`http://127.0.0.1:${port(silent)}`, 300).checkImage(ref);
      expect(timedOut.status).toBe('unknown');
      if (timedOut.status === 'unknown') expect(timedOut.reason).toContain('did not answer');
    } finally {
      failing.closeAllConnections();
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => failing.close(resolve));
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe('registry client against the Fly emulator', () => {
  it('answers for the catalogue like registry.fly.io', async () => {
    const emulator = await createFlyEmulator({ seed: 3 });
    try {
      const at = (token: string) => createRegistryClient({ token, baseUrlFor: () => emulator.baseUrl });
      const latest = await at(emulator.token).checkImage('registry.fly.io/vyx-app:latest');
      expect(latest.status).toBe('exists');
      expect(await at(emulator.token).checkImage('registry.fly.io/vyx-app:stub')).toMatchObject({
        status: 'missing',
        errorCode: 'MANIFEST_UNKNOWN',
      });
      expect(await at(emulator.token).checkImage('registry.fly.io/other-app:latest')).toMatchObject({
        status: 'missing',
        errorCode: 'NAME_UNKNOWN',
      });
      expect(await at('wrong').checkImage('registry.fly.io/vyx-app:stub')).toMatchObject({
        status: 'unknown',
        httpStatus: 401,
        errorCode: 'UNAUTHORIZED',
      });
    } finally {
      await emulator.close();
    }
  });
});
