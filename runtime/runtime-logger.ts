import { type Logger, pino } from 'pino';
import { MACHINE_LOG_LEVELS, type MachineLogLevel } from '../src/contract/machine-env.ts';
import { REDACT_PATHS } from '../src/logger.ts';

export interface RuntimeLoggerOptions {
  level: MachineLogLevel;
  /** Applied to every line before it is written (see secret-scrubber.ts). */
  scrub(text: string): string;
  /** Where lines go (stdout in production). */
  write(line: string): void;
}

/** LOG_LEVEL when it is valid, otherwise `info` (an invalid LOG_LEVEL is reported by the env check). */
export function logLevelFrom(value: string | undefined): MachineLogLevel {
  return (MACHINE_LOG_LEVELS as readonly string[]).includes(value ?? '')
    ? (value as MachineLogLevel)
    : 'info';
}

/** pino JSON lines, one per event, with the shared redaction paths and a scrub of secret values. */
export function createRuntimeLogger(options: RuntimeLoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      name: 'vyx-runtime',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    { write: (line: string) => options.write(options.scrub(line)) },
  );
}
