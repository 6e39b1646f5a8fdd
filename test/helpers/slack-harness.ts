/**
 * The local Slack for tests: `startTestSlack()` starts the twin with a scripted (non-TTY) input,
 * a captured output, a temporary data dir and short waits; `testApp(slack)` builds a real Bolt App
 * on it (shell receiver, `clientOptions.slackApiUrl`, no WebClient retries, quiet logs).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { App, type AppOptions, LogLevel } from '@slack/bolt';
import {
  createLocalSlack,
  type LocalSlack,
  type LocalSlackOptions,
} from '../../src/local/slack-twin/create-local-slack.ts';

export interface TestSlack {
  slack: LocalSlack;
  /** Write script lines (each gets a newline). */
  input: PassThrough;
  dataDir: string;
  /** Everything rendered so far. */
  output(): string;
  /** Feeds the lines and ends the input (a piped script). */
  script(...lines: string[]): void;
  close(): Promise<void>;
}

export async function startTestSlack(
  options: Partial<Omit<LocalSlackOptions, 'input' | 'output'>> & { isTTY?: boolean } = {},
): Promise<TestSlack> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'vyx-slack-'));
  const input = new PassThrough();
  const output = new PassThrough();
  if (options.isTTY) {
    Object.assign(input, { isTTY: true, setRawMode: () => input });
    Object.assign(output, { isTTY: true, columns: 100 });
  }
  let text = '';
  output.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  const { isTTY: _isTTY, shell, ...rest } = options;
  const slack = await createLocalSlack({
    ...rest,
    dataDir,
    input,
    output,
    interactive: options.interactive ?? options.isTTY === true,
    color: options.color ?? false,
    shell: { quietMs: 100, pollMs: 10, timeLimitMs: 15_000, ...shell },
  });
  return {
    slack,
    input,
    dataDir,
    output: () => text,
    script(...lines) {
      input.end(lines.map((l) => `${l}\n`).join(''));
    },
    async close() {
      await slack.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Bolt's logger interface, silent (a listener's error would otherwise print to stderr). */
export const silentLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};

/**
 * A Bolt App on the twin. By default it is built with `deferInitialization` and awaited `init()`,
 * so Bolt's start-up `auth.test` has finished before the test goes on (and before the twin is
 * closed); pass `deferInitialization: false` to get the plain constructor path, whose auth.test
 * runs in the background.
 */
export async function testApp(slack: LocalSlack, options: Partial<AppOptions> = {}): Promise<App> {
  const defer = options.deferInitialization ?? true;
  const app = new App({
    token: slack.botToken,
    receiver: slack.receiver,
    logger: silentLogger,
    ...options,
    deferInitialization: defer,
    clientOptions: { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 }, ...options.clientOptions },
  });
  if (defer) await app.init();
  return app;
}
