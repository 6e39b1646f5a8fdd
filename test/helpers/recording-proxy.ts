import type { AddressInfo } from 'node:net';
import { connect, createServer, type Socket } from 'node:net';

export interface RecordingProxy {
  /** `target` with the proxy's origin: point a client here instead. */
  url: string;
  /** Every byte any client sent through this proxy, in arrival order per connection. */
  received(): Buffer;
  close(): Promise<void>;
}

/**
 * A TCP proxy on loopback in front of one service, recording every byte sent to it: the network's
 * view of what reached that host, whatever the client library, header or encoding.
 */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const to = new URL(target);
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(to.port), to.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (d: Buffer) => chunks.push(d));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: url.toString().replace(/\/$/, target.endsWith('/') ? '/' : ''),
    received: () => Buffer.concat(chunks),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
