// Replays a tick's recorded requests (bench/scenarios/tick-floor.ts) with `concurrency` at once, in the order
// they were sent, doing nothing with the answers but draining them. Prints { wallMs } on stdout.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import type { Recorded } from './scenarios/tick-floor.ts';

const [file = '', gateway = '', fly = '', concurrency = '4'] = process.argv.slice(2);
const recorded = JSON.parse(readFileSync(file, 'utf8')) as Recorded[];
const ready = recorded.map((r) => ({
  url: `${r.target === 'gateway' ? gateway : fly}${r.path}`,
  method: r.method as 'GET',
  headers: r.headers,
  body: r.body ? Buffer.from(r.body, 'base64') : undefined,
}));
const dispatcher = new Agent({ connections: Number(concurrency) + 2 });
let next = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (next < ready.length) {
      const r = ready[next++]!;
      const answer = await request(r.url, {
        method: r.method,
        headers: r.headers,
        dispatcher,
        ...(r.body?.length ? { body: r.body } : {}),
      });
      await answer.body.dump({ limit: Number.POSITIVE_INFINITY });
      if (answer.statusCode >= 400) process.stderr.write(`${answer.statusCode} ${r.method} ${r.url}\n`);
    }
  }),
);
process.stdout.write(`${JSON.stringify({ wallMs: performance.now() - t0 })}\n`);
await dispatcher.close();
