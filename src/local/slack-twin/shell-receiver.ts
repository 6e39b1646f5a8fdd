/**
 * The shell receiver: a Bolt `Receiver` that takes the place of Slack's servers for a person (or a
 * script) at a terminal, like Hubot's Shell adapter. It reads lines from `input`: slash commands,
 * `!N` to press button N, `/home`, `dialog`, `wait`, `buttons`, `help`, `exit` (run-shell-line.ts).
 *
 * With a TTY the prompt is `vyx> ` and commands run while the next one is typed. Without one
 * (a pipe or a file) each line is echoed, each command waits for its ack, and after the last
 * line the receiver waits until the work is done: `settled()` (supplied by the bot: nothing in
 * flight, nothing undelivered) is true, no delivery is still running and no Slack API call came
 * for `quietMs`. Then `finished` resolves `{ ok: true }`. If `timeLimitMs` passes first it prints
 * one line naming what was still pending and resolves `{ ok: false, reason: 'time-limit' }`; the
 * caller sets the exit code. The receiver never exits the process itself. With a TTY, Ctrl-D
 * ends the session the same way (waiting for the work), Ctrl-C ends it at once (`interrupted`).
 *
 * This file is the read loop; what a line does is run-shell-line.ts (a button press press-button.ts),
 * the bodies are built in shell-payloads.ts, handed to Bolt and acked in shell-delivery.ts, and
 * "the work is done" is decided in shell-settling.ts.
 */
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { App, Receiver } from '@slack/bolt';
import { runShellLine, type ShellLineHost } from './run-shell-line.ts';
import { type Delivery, deliverToBolt } from './shell-delivery.ts';
import { type SettleProbe, type SettleResult, waitUntilSettled } from './shell-settling.ts';
import type { SlackApiServer } from './slack-api-server.ts';
import type { SlackRenderer } from './slack-renderer.ts';

export interface ShellReceiverOptions {
  /** The Slack twin's server (response_urls, transcript, activity). */
  slack: SlackApiServer;
  /** The renderer showing the workspace (its button numbers are what `!N` presses). */
  renderer: SlackRenderer;
  /** Default process.stdin. */
  input?: Readable;
  /** Where prompts and echoes go. Default process.stdout (use the renderer's output). */
  output?: Writable;
  /** Prompt and type-ahead (true) or scripted (false). Default: whether `input` is a TTY. */
  interactive?: boolean;
  /** The bot's "nothing in flight, nothing undelivered". Default: always true. Replace with `setSettled`. */
  settled?: () => Promise<boolean> | boolean;
  /** What is still in flight, for the time-limit line (e.g. "provisioning web-1"). */
  describePending?: () => Promise<string> | string;
  /** No Slack API call for this long counts as quiet. Default 1500 ms. */
  quietMs?: number;
  /** Give up waiting for the work after this long. Default 120 000 ms. */
  timeLimitMs?: number;
  /** How often to re-check while waiting. Default 100 ms. */
  pollMs?: number;
  /** Scripted mode: wait until settled before each next command, not only at the end. Default false. */
  settleBetweenCommands?: boolean;
  /** Warn when a delivery is not acked within this long (Slack allows 3 s). Default 3000 ms. */
  ackWarningMs?: number;
  /** Prompt text. Default `vyx> `. */
  prompt?: string;
  /** Passed to processEvent as `customProperties` (lands in the listener's `context`). Default {}. */
  customProperties?: Record<string, unknown>;
  now?: () => number;
}

export interface ShellOutcome {
  /** True when the session ended with all work done. */
  ok: boolean;
  /** `interrupted`: Ctrl-C at the prompt; `stopped`: `stop()` (e.g. `app.stop()`) before the end. */
  reason: 'end-of-input' | 'exit' | 'time-limit' | 'stopped' | 'interrupted';
  /** Commands and button presses delivered. */
  deliveries: number;
  /** On a time-limit: what was still pending. */
  pending?: string;
}

export class ShellReceiver implements Receiver {
  readonly finished: Promise<ShellOutcome>;
  private readonly options: ShellReceiverOptions;
  private readonly input: Readable;
  private readonly output: Writable;
  private readonly interactive: boolean;
  private readonly now: () => number;
  private app: App | undefined;
  private rl: Interface | undefined;
  private lines: AsyncIterator<string> | undefined;
  private settledFn: () => Promise<boolean> | boolean;
  private describePending: (() => Promise<string> | string) | undefined;
  private readonly inflight = new Set<Delivery>();
  private readonly settleProbe: SettleProbe;
  private readonly lineHost: ShellLineHost;
  private deliveries = 0;
  private waitingForInput = false;
  private resolveFinished!: (outcome: ShellOutcome) => void;
  private done = false;

  constructor(options: ShellReceiverOptions) {
    this.options = options;
    this.input = options.input ?? process.stdin;
    this.output = options.output ?? process.stdout;
    this.interactive = options.interactive ?? (this.input as { isTTY?: boolean }).isTTY === true;
    this.now = options.now ?? Date.now;
    this.settledFn = options.settled ?? (() => true);
    this.describePending = options.describePending;
    this.settleProbe = {
      slack: options.slack,
      settled: () => this.settledFn(),
      describePending: () => this.describePending?.() ?? '',
      runningDeliveries: () => [...this.inflight].map((delivery) => delivery.label),
      stopped: () => this.done,
      now: this.now,
      quietMs: options.quietMs ?? 1500,
      pollMs: options.pollMs ?? 100,
    };
    this.lineHost = {
      slack: options.slack,
      renderer: options.renderer,
      interactive: this.interactive,
      now: this.now,
      settleBetweenCommands: options.settleBetweenCommands,
      deliveries: () => this.deliveries,
      nextLine: (prompt) => this.nextLine(prompt),
      deliver: (kind, method, label, body, always) => this.deliver(kind, method, label, body, always),
      waitOrWarn: () => this.waitOrWarn(),
    };
    this.finished = new Promise((resolve) => {
      this.resolveFinished = resolve;
    });
  }

  init(app: App): void {
    this.app = app;
  }

  /** The bot supplies its "nothing in flight" check once it exists. */
  setSettled(
    settled: () => Promise<boolean> | boolean,
    describePending?: () => Promise<string> | string,
  ): void {
    this.settledFn = settled;
    if (describePending) this.describePending = describePending;
  }

  /** Starts reading input; resolves at once (the session's end is `finished`). */
  async start(): Promise<void> {
    if (!this.app) throw new Error('ShellReceiver.start() before init(): pass it to new App({ receiver })');
    if (this.rl) return;
    this.rl = createInterface({
      input: this.input,
      ...(this.interactive
        ? { output: this.output, terminal: true, prompt: this.options.prompt ?? 'vyx> ' }
        : {}),
    });
    this.lines = this.rl[Symbol.asyncIterator]();
    if (this.interactive) {
      // Without a listener readline would only pause on Ctrl-C; at a prompt people expect to leave.
      this.rl.on('SIGINT', () => {
        this.output.write('\n');
        this.finish({ ok: false, reason: 'interrupted', deliveries: this.deliveries });
      });
      this.options.renderer.setWriteHooks({
        before: () => {
          if (this.waitingForInput) this.output.write('\r\x1b[K');
        },
        after: () => {
          if (this.waitingForInput) this.rl?.prompt(true);
        },
      });
    }
    void this.loop().catch((error: unknown) => {
      this.options.renderer.notice(`the shell stopped on an error: ${String(error)}`);
      this.finish({ ok: false, reason: 'stopped', deliveries: this.deliveries });
    });
  }

  async stop(): Promise<void> {
    this.finish({ ok: false, reason: 'stopped', deliveries: this.deliveries });
  }

  /**
   * Runs one shell line as if typed (`/vyx status`, `!1`, `wait` …) and resolves once it was handled
   * (for commands: acked, or in interactive mode delivered). For the demo and tests.
   */
  async runLine(line: string): Promise<'exit' | undefined> {
    return runShellLine(this.lineHost, line);
  }

  /**
   * Waits until the bot's `settled()` is true, no delivery is running and no Slack call came for
   * `quietMs` — or `limitMs` (default `timeLimitMs`) passed, answering what was still pending.
   */
  async waitUntilSettled(limitMs = this.options.timeLimitMs ?? 120_000): Promise<SettleResult> {
    return waitUntilSettled(this.settleProbe, limitMs);
  }

  private async loop(): Promise<void> {
    let reason: ShellOutcome['reason'] = 'end-of-input';
    for (;;) {
      const line = await this.nextLine(this.options.prompt ?? 'vyx> ');
      if (line === undefined || this.done) break;
      if ((await this.runLine(line)) === 'exit') {
        reason = 'exit';
        break;
      }
    }
    if (this.done) return;
    this.waitingForInput = false;
    const result = await this.waitUntilSettled();
    if (result.settled) {
      if (!this.interactive)
        this.options.renderer.notice(`done: ${this.deliveries} deliveries, all work finished`);
      this.finish({ ok: true, reason, deliveries: this.deliveries });
    } else {
      const seconds = (this.options.timeLimitMs ?? 120_000) / 1000;
      this.options.renderer.notice(
        `gave up after ${seconds} s waiting for the work to finish; still pending: ${result.pending}`,
      );
      this.finish({ ok: false, reason: 'time-limit', deliveries: this.deliveries, pending: result.pending });
    }
  }

  private async nextLine(prompt: string): Promise<string | undefined> {
    if (!this.lines) return undefined;
    if (this.interactive && this.rl) {
      this.rl.setPrompt(prompt);
      this.waitingForInput = true;
      this.rl.prompt();
    }
    const next = await this.lines.next();
    this.waitingForInput = false;
    return next.done ? undefined : next.value;
  }

  private async waitOrWarn(): Promise<void> {
    const result = await this.waitUntilSettled();
    if (!result.settled)
      this.options.renderer.notice(`still busy after the time limit (${result.pending}); going on`);
  }

  /** Delivers a body to Bolt; resolves once acked (or, if never acked, once Bolt is done with it). */
  private async deliver(
    kind: 'slash_command' | 'block_actions' | 'event' | 'view_submission',
    method: string,
    label: string,
    body: Record<string, unknown>,
    always = false,
  ): Promise<unknown> {
    this.deliveries += 1;
    const { renderer, slack, ackWarningMs, customProperties } = this.options;
    const target = { app: this.app!, slack, renderer, now: this.now, inflight: this.inflight };
    const acked = deliverToBolt(target, { kind, method, label, body }, { ackWarningMs, customProperties });
    if (!this.interactive || always) return acked;
    return undefined;
  }

  private finish(outcome: ShellOutcome): void {
    if (this.done) return;
    this.done = true;
    this.options.renderer.setWriteHooks(undefined);
    this.rl?.close();
    this.resolveFinished(outcome);
  }
}
