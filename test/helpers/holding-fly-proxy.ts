import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FlyEmulator } from '../../src/local/fly-emulator/fly-emulator.ts';

/** What Fly reads from a request (a lease's nonce included: a change to a leased machine needs it). */
const FORWARDED = ['content-type', 'authorization', 'fly-machine-lease-nonce'];

/**
 * The Fly emulator behind a proxy that holds the requests `hold` picks (by method and path) until
 * the test lets them through: a call held in place so that what happens meanwhile is certain,
 * never a race.
 */
export async function holdingFlyProxy(
  emulator: FlyEmulator,
  hold: (method: string, path: string) => boolean,
) {
  const held: { path: string; go: () => void }[] = [];
  let holding = true;
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = req.url ?? '';
    if (holding && hold(req.method ?? 'GET', path)) await new Promise<void>((go) => held.push({ path, go }));
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(([k, v]) => typeof v === 'string' && FORWARDED.includes(k)),
    ) as Record<string, string>;
    const r = await fetch(`${emulator.baseUrl}${path}`, {
      method: req.method ?? 'GET',
      headers,
      ...(chunks.length ? { body: Buffer.concat(chunks) } : {}),
    });
    res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
    res.end(Buffer.from(await r.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Paths of the requests held now. */
    held: () => held.map((h) => h.path),
    isHeld: (match: RegExp) => held.some((h) => match.test(h.path)),
    /** Lets the first held request whose path matches through. */
    release(match: RegExp) {
      const i = held.findIndex((h) => match.test(h.path));
      if (i === -1) throw new Error(`nothing held matches ${match}`);
      held.splice(i, 1)[0]!.go();
    },
    /** Lets everything held through and holds nothing more. */
    releaseAll() {
      holding = false;
      for (const h of held.splice(0)) h.go();
    },
    close: () =>
      new Promise<void>((resolve) => {
        holding = false;
        for (const h of held.splice(0)) h.go();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
