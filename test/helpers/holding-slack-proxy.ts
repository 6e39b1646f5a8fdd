import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SlackApiServer } from '../../src/local/slack-twin/slack-api-server.ts';

/**
 * The Slack Web API twin behind a proxy that can hold `chat.postMessage` requests unanswered (the
 * ones `hold`'s predicate picks, by their body): a provisioning then stays at a chosen step for as
 * long as a test wants — a step held in place, never a race.
 */
export async function holdingSlackProxy(slack: SlackApiServer) {
  let picks: ((body: string) => boolean) | undefined;
  const held: ServerResponse[] = [];
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    if (picks && req.url?.includes('chat.postMessage') && picks(body.toString())) {
      held.push(res);
      return;
    }
    const r = await fetch(`${slack.baseUrl}${req.url}`, {
      method: req.method ?? 'POST',
      headers: Object.fromEntries(
        Object.entries(req.headers).filter(([k]) => ['content-type', 'authorization'].includes(k)),
      ) as Record<string, string>,
      ...(body.length ? { body } : {}),
    });
    res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
    res.end(Buffer.from(await r.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`,
    held,
    /** Hold the posts this picks from now on; undefined lets every post through. */
    hold(pick: ((body: string) => boolean) | undefined) {
      picks = pick;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of held) r.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
