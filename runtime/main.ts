// The vyx machine runtime: `node runtime/main.ts` (npm run runtime; the Dockerfile's entry).
// Wires the real process, store, clock and workload into createMachineRuntime; all logic lives there.
import { setTimeout as sleep } from 'node:timers/promises';
import { MACHINE_EXIT_CODES as EXIT_CODES } from '../src/contract/machine-exit-codes.ts';
import { createVyxStore } from '../src/store/vyx-store.ts';
import { createMachineRuntime } from './machine-runtime.ts';
import { createRuntimeLogger, logLevelFrom } from './runtime-logger.ts';
import { createSecretScrubber, secretValuesOf } from './secret-scrubber.ts';
import { startWorkload } from './workload.ts';

const env = process.env;
const scrub = createSecretScrubber(secretValuesOf(env));
const logger = createRuntimeLogger({
  level: logLevelFrom(env.LOG_LEVEL),
  scrub,
  write: (line) => process.stdout.write(line),
});

const runtime = createMachineRuntime({
  env,
  log: logger,
  createStore: ({ url, apiKey, accessToken }) =>
    createVyxStore({ url, serviceKey: apiKey, ...(accessToken ? { accessToken } : {}), timeoutMs: 8_000 }),
  startWorkload: (command) =>
    startWorkload({
      command,
      env,
      onOutput: (stream, line) =>
        (stream === 'stdout' ? process.stdout : process.stderr).write(`${scrub(line)}\n`),
    }),
  sleep: (ms) => sleep(ms),
  random: Math.random,
  every: (ms, fn) => {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
  after: (ms, fn) => {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
  onStopSignal: (handler) => {
    process.on('SIGTERM', () => handler('SIGTERM'));
    process.on('SIGINT', () => handler('SIGINT'));
  },
});

const crash = (err: unknown) => {
  logger.fatal({ err, exitCode: EXIT_CODES.internal }, 'vyx runtime crashed');
  runtime.killWorkload();
  process.exit(EXIT_CODES.internal);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);
process.on('exit', () => runtime.killWorkload());

const code = await runtime.run();
process.exit(code);
