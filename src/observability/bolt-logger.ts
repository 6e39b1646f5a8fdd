import type { Logger as SlackLogger } from '@slack/bolt';
// Bolt's App module alone, not its package index (see assemble-bot).
import { LogLevel } from '@slack/bolt/dist/App.js';
import type { Logger } from '../logger.ts';

const PINO_LEVEL: Record<LogLevel, string> = {
  [LogLevel.DEBUG]: 'debug',
  [LogLevel.INFO]: 'info',
  [LogLevel.WARN]: 'warn',
  [LogLevel.ERROR]: 'error',
};

function text(parts: unknown[]): string {
  return parts
    .map((p) => (typeof p === 'string' ? p : p instanceof Error ? p.message : JSON.stringify(p)))
    .join(' ');
}

/**
 * Bolt's and the Slack Web API client's logs through the bot's pino logger: JSON like every other
 * line, with the same redaction and secret scrubbing (instead of Bolt's own console lines).
 */
export function slackLogger(logger: Logger, level: LogLevel, name = 'bolt'): SlackLogger {
  let current = level;
  const log = logger.child({ part: name });
  log.level = PINO_LEVEL[level];
  return {
    debug: (...m: unknown[]) => log.debug(text(m)),
    info: (...m: unknown[]) => log.info(text(m)),
    warn: (...m: unknown[]) => log.warn(text(m)),
    error: (...m: unknown[]) => log.error(text(m)),
    setLevel(l: LogLevel) {
      current = l;
      log.level = PINO_LEVEL[l];
    },
    getLevel: () => current,
    setName() {},
  };
}
