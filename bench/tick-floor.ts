// The tick's floor alone: `scripts/node bench/tick-floor.ts 10000 [runs]` prints the services' own
// wall for one tick's requests beside a real tick's (bench/scenarios/tick-floor.ts).
import { startServices } from './lib.ts';
import { tickFloor } from './scenarios/tick-floor.ts';

const [n = 10_000, runs = 3] = process.argv
  .slice(2)
  .filter((a) => /^\d+$/.test(a))
  .map(Number);
const svc = await startServices();
try {
  const floor = await tickFloor(svc, n, { runs, log: (s) => process.stderr.write(`${s}\n`) });
  process.stdout.write(`${JSON.stringify(floor, null, 2)}\n`);
} finally {
  await svc.close();
}
