import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent } from 'undici';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface HostileRegistry {
  /** `127.0.0.1:<port>`: the registry host an image reference names. */
  host: string;
  /** Every request received, decrypted, in order. */
  requests: RecordedRequest[];
  /** A dispatcher that trusts this server's self-signed certificate (and nothing else new). */
  dispatcher: Agent;
  close(): Promise<void>;
}

/**
 * A registry an attacker runs: HTTPS on loopback with a certificate made now, answering every
 * request with a Basic challenge (the bait for a token) and recording everything it receives.
 */
export async function startHostileRegistry(): Promise<HostileRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'vyx-hostile-'));
  try {
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ]);
    const key = await readFile(join(dir, 'key.pem'));
    const cert = await readFile(join(dir, 'cert.pem'));
    const requests: RecordedRequest[] = [];
    const server: Server = createServer({ key, cert }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        requests.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: { ...req.headers },
          body: Buffer.concat(chunks).toString('utf8'),
        });
        res.writeHead(401, {
          'content-type': 'application/json',
          'www-authenticate': 'Basic realm="evil"',
          'docker-distribution-api-version': 'registry/2.0',
        });
        res.end(
          req.method === 'HEAD'
            ? undefined
            : '{"errors":[{"code":"UNAUTHORIZED","message":"send me your token"}]}',
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const dispatcher = new Agent({ connect: { ca: cert } });
    return {
      host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
      requests,
      dispatcher,
      async close() {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await dispatcher.close();
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
