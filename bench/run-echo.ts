// Just the echo scenario (`scripts/node bench/run-echo.ts [writes] [oneChannelWrites] [repeats]`):
// for measuring the echo without a full `npm run bench`. Prints the scenario's results as JSON;
// writes nothing. Defaults: 50 steady writes at 50/s, 20 writes at once into one channel, 1 repeat.

import { forkBot, startServices } from './lib.ts';
import { echoChannel, echoScenario, SOLO_CHANNEL } from './scenarios/echo.ts';

const [writes = 50, oneChannelWrites = 20, repeats = 1] = process.argv.slice(2).map(Number);
const log = (s: string) => process.stderr.write(`${s}\n`);
const svc = await startServices([
  ...Array.from({ length: writes }, (_, i) => ({ id: echoChannel(i), name: `echo-${i}` })),
  { id: SOLO_CHANNEL, name: 'echo-solo' },
]);
const out: unknown[] = [];
try {
  const bot = await forkBot(svc, { startWatchers: true });
  try {
    for (let r = 0; r < repeats; r++)
      out.push(await echoScenario(svc, bot, { writes, ratePerS: 50, oneChannelWrites, log }));
  } finally {
    await bot.stop();
  }
} finally {
  await svc.close();
}
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
process.exit(0);
