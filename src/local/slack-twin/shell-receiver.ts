/**
 * The shell receiver: a Bolt `Receiver` that takes the place of Slack's servers for a person (or a
 * script) at a terminal, like Hubot's Shell adapter. It reads lines from `input`:
 *
 * - `/vyx start …` → a slash-command body shaped like Slack's (command, text, user_id, user_name,
 *   team_id, team_domain, channel_id, channel_name, api_app_id, response_url pointing at the twin,
 *   trigger_id) delivered through `app.processEvent({ body, ack, retryNum, retryReason,
 *   customProperties })`. What the bot passes to `ack()` is shown as an ephemeral answer.
 * - `!2` or `press 2` → a `block_actions` payload for button 2 as numbered by the renderer
 *   (`response_url`, `container`, `message`, `channel`, `actions[{action_id, block_id, value, …}]`).
 *   A button with a `confirm` object first asks "Are you sure? [y/N]"; anything but `y` sends nothing.
 * - `/home` shows the Home tab; `dialog` fills in the open dialog (a prompt per input), see
 *   shell-views.ts.
 * - `wait` waits until the work is done; `buttons` lists the buttons; `help`; `exit`.
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
 * This file is the read loop; the bodies are built in shell-payloads.ts, handed to Bolt and acked in
 * shell-delivery.ts, and "the work is done" is decided in shell-settling.ts.
 */
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { App, Receiver } from '@slack/bolt';
import { type Delivery, deliverToBolt } from './shell-delivery.ts';
import { blockActionsBody, homeBlockActionsBody, slashCommandBody, stillHas } from './shell-payloads.ts';
import { type SettleProbe, type SettleResult, waitUntilSettled } from './shell-settling.ts';
import { fillDialog, type ShellViewsHost, showHome } from './shell-views.ts';
import type { SlackApiServer } from './slack-api-server.ts';
import type { PressableButton, SlackRenderer } from './slack-renderer.ts';

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

const HELP = [
  'type a slash command (/vyx help), !N or "press N" to press button N, "buttons" to list them,',
  '"/home" to open the Home tab, "dialog" to fill in an open dialog,',
  '"wait" to wait until the bot is idle, "exit" to leave',
].join(' ');

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
    const text = line.trim();
    if (text === '' || text.startsWith('#')) return undefined;
    const slack = this.options.slack;
    const echo = () => {
      if (!this.interactive) this.options.renderer.userLine(slack.identity.channelId, text);
    };
    if (text === '/home') {
      echo();
      await showHome(this.viewsHost());
      return undefined;
    }
    if (text.startsWith('/')) {
      if (!this.interactive && this.options.settleBetweenCommands && this.deliveries > 0)
        await this.waitOrWarn();
      echo();
      await this.command(text);
      return undefined;
    }
    const press = /^(?:!|press\s+)(\d+)$/i.exec(text);
    if (press) {
      // A script presses a button on a card that may still be coming: let the work settle first.
      if (!this.interactive) await this.waitOrWarn();
      echo();
      await this.press(Number(press[1]));
      return undefined;
    }
    echo();
    switch (text.toLowerCase()) {
      case 'wait':
        await this.waitOrWarn();
        return undefined;
      case 'dialog':
        await fillDialog(this.viewsHost());
        return undefined;
      case 'buttons': {
        const list = this.options.renderer.buttons();
        this.options.renderer.notice(
          list.length === 0 ? 'no buttons yet' : list.map((b) => `[${b.number} ${b.text}]`).join(' '),
        );
        return undefined;
      }
      case 'help':
      case '\\?':
        this.options.renderer.notice(HELP);
        return undefined;
      case 'exit':
      case 'quit':
      case '\\q':
        return 'exit';
      default:
        this.options.renderer.notice(`not a command: ${text} — ${HELP}`);
        return undefined;
    }
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

  private async command(line: string): Promise<void> {
    const command = line.split(/\s+/)[0] ?? '';
    const text = line.slice(command.length).trim();
    const body = slashCommandBody(this.options.slack, command, text);
    await this.deliver('slash_command', command, `${command} ${text}`.trim(), body);
  }

  private async press(number: number): Promise<void> {
    const { renderer, slack } = this.options;
    const button = renderer.button(number);
    if (!button) {
      const count = renderer.buttons().length;
      renderer.notice(
        `there is no button ${number}${count > 0 ? ` (buttons 1–${count} were shown)` : ' (no buttons yet)'}`,
      );
      return;
    }
    if (button.viewId) {
      const home = slack.views.home(slack.identity.userId);
      if (!home || !stillHas(home.blocks, button)) {
        renderer.notice(`button ${number} (${button.text}) is no longer on your Home tab; nothing sent`);
        return;
      }
      if (button.confirm && !(await this.confirm(button))) {
        renderer.notice(`${button.confirm.deny}: nothing sent`);
        return;
      }
      const body = homeBlockActionsBody(slack, button, this.now());
      await this.deliver('block_actions', 'block_actions', `button ${number} (${button.text})`, body);
      return;
    }
    const message = button.ephemeral ? undefined : slack.workspace.message(button.channel, button.messageTs);
    const current = button.ephemeral ? slack.workspace.ephemeral(button.messageTs) : message;
    if (!current || ('deleted' in current && current.deleted)) {
      renderer.notice(
        `button ${number} (${button.text}) is on a message that no longer exists; nothing sent`,
      );
      return;
    }
    if (!stillHas(current.blocks, button)) {
      renderer.notice(`button ${number} (${button.text}) is no longer on its message; nothing sent`);
      return;
    }
    if (button.confirm && !(await this.confirm(button))) {
      renderer.notice(`${button.confirm.deny}: nothing sent`);
      return;
    }
    const body = blockActionsBody(slack, button, message, this.now());
    await this.deliver('block_actions', 'block_actions', `button ${number} (${button.text})`, body);
  }

  private async confirm(button: PressableButton): Promise<boolean> {
    const c = button.confirm!;
    const { renderer } = this.options;
    renderer.notice(`${c.title}${c.text ? ` — ${c.text}` : ''} [${c.confirm} / ${c.deny}]`);
    if (!this.interactive) renderer.notice('Are you sure? [y/N]');
    const answer = await this.nextLine('Are you sure? [y/N] ');
    if (answer !== undefined && !this.interactive)
      renderer.userLine(this.options.slack.identity.channelId, answer.trim());
    return answer !== undefined && /^y(es)?$/i.test(answer.trim());
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

  /** What shell-views.ts needs: a view's ack is always awaited (it decides what the person sees). */
  private viewsHost(): ShellViewsHost {
    return {
      slack: this.options.slack,
      renderer: this.options.renderer,
      echo: (text) => {
        if (!this.interactive) this.options.renderer.userLine(this.options.slack.identity.channelId, text);
      },
      nextLine: (prompt) => this.nextLine(prompt),
      deliver: (kind, method, label, body) => this.deliver(kind, method, label, body, true),
      settle: () => this.waitOrWarn(),
    };
  }

  private finish(outcome: ShellOutcome): void {
    if (this.done) return;
    this.done = true;
    this.options.renderer.setWriteHooks(undefined);
    this.rl?.close();
    this.resolveFinished(outcome);
  }
}
