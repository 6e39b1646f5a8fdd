// The ack scenario's load generator, on a thread of its own: the bench's main thread hosts the
// Supabase and Slack twins, whose work (the bot's follow-ups) would otherwise delay reading each
// ack off the socket and be counted as the bot's ack time. Here only the requests and their clocks run.
import { parentPort } from 'node:worker_threads';
import { sign } from '../testkit/slack-signature.ts';

export interface AckLoadInput {
  url: string;
  signingSecret: string;
  /** One form body per request, response_url and trigger id already in. */
  bodies: string[];
  concurrency: number;
  deadlineMs: number;
}
export interface AckLoadOutput {
  times: number[];
  non200: number;
}

async function run(o: AckLoadInput): Promise<AckLoadOutput> {
  const times: number[] = [];
  let non200 = 0;
  let next = 0;
  const deadline = Date.now() + o.deadlineMs;
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (next < o.bodies.length && Date.now() < deadline) {
        const text = o.bodies[next++]!;
        const ts = Math.floor(Date.now() / 1000);
        const t0 = performance.now();
        const r = await fetch(o.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-slack-request-timestamp': String(ts),
            'x-slack-signature': sign(o.signingSecret, ts, text),
          },
          body: text,
        });
        await r.text();
        times.push(performance.now() - t0);
        if (r.status !== 200) non200++;
      }
    }),
  );
  return { times, non200 };
}

// One thread for the whole scenario, so its connections stay open (kept alive) from burst to burst.
parentPort?.on('message', (o: AckLoadInput) => {
  void run(o).then((out) => parentPort?.postMessage(out));
});
