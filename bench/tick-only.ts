// The tick scenario alone, for measuring the stuck-watcher tick without the rest of `npm run bench`:
// `scripts/node bench/tick-only.ts 10000 100000` prints the sizes' JSON; with `--profile=DIR` each
// size's tick runs once under `--cpu-prof` and `--heap-prof` (profiles in DIR/tick-N/).
import { resetTables, seedStuck, startServices } from './lib.ts';
import { APPS, runTickChild, tickScenario } from './scenarios/tick.ts';

const sizes = process.argv
  .slice(2)
  .filter((a) => /^\d+$/.test(a))
  .map(Number);
const profileDir = process.argv.find((a) => a.startsWith('--profile='))?.split('=')[1];
const log = (s: string) => process.stderr.write(`${s}\n`);
const svc = await startServices();
try {
  if (profileDir) {
    for (const n of sizes) {
      await resetTables(svc);
      await seedStuck(svc, n, APPS);
      const dir = `${profileDir}/tick-${n}`;
      const r = await runTickChild(svc, {
        nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--heap-prof', `--heap-prof-dir=${dir}`],
      });
      log(`  profiled tick r${n}: ${JSON.stringify(r)}`);
    }
  } else {
    const out = await tickScenario(svc, sizes.length ? sizes : [10_000], { naive: false, log });
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  }
} finally {
  await svc.close();
}
