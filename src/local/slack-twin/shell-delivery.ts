/**
 * One delivery from the shell to Bolt, as Slack makes it: recorded in the transcript, `ack()`
 * recorded with its latency, a warning past Slack's 3 s, what a command's ack carried shown as
 * Slack shows it (ephemeral, or in the channel).
 */
import type { App } from '@slack/bolt';
import { showCommandAck } from './command-ack.ts';
import type { SlackApiServer } from './slack-api-server.ts';
import type { SlackRenderer } from './slack-renderer.ts';

/** A delivery Bolt is still working on (the shell waits for these before it counts as settled). */
export interface Delivery {
  label: string;
  done: Promise<void>;
}

export interface DeliveryTarget {
  app: App;
  slack: SlackApiServer;
  renderer: SlackRenderer;
  now: () => number;
  /** The delivery is in here until Bolt is done with it. */
  inflight: Set<Delivery>;
}

export interface DeliveryBody {
  kind: 'slash_command' | 'block_actions' | 'event' | 'view_submission';
  method: string;
  /** How notices name it (`/vyx status`, `button 2 (Retry)`). */
  label: string;
  body: Record<string, unknown>;
}

export interface DeliveryOptions {
  /** Warn when not acked within this long (Slack allows 3 s). Default 3000 ms. */
  ackWarningMs?: number | undefined;
  /** Passed to processEvent as `customProperties`. Default {}. */
  customProperties?: Record<string, unknown> | undefined;
}

/**
 * Hands the body to Bolt; resolves once acked with what the ack carried (or, if never acked, once
 * Bolt is done, with undefined).
 */
export function deliverToBolt(
  target: DeliveryTarget,
  { kind, method, label, body }: DeliveryBody,
  options: DeliveryOptions,
): Promise<unknown> {
  const { app, renderer, slack } = target;
  const delivered = slack.record({ kind, method, args: body, response: null });
  const started = target.now();
  let acked = false;
  let resolveAcked!: (response?: unknown) => void;
  const ackedPromise = new Promise<unknown>((resolve) => {
    resolveAcked = resolve;
  });
  const warnAfter = options.ackWarningMs ?? 3000;
  const timer = setTimeout(() => {
    if (!acked)
      renderer.notice(
        `the bot did not ack ${label} within ${warnAfter / 1000} s: Slack would show "operation_timeout"`,
      );
  }, warnAfter);
  timer.unref();
  const ack = async (response?: unknown): Promise<void> => {
    if (acked) {
      renderer.notice(`ack() called twice for ${label}; the second is ignored`);
      return;
    }
    acked = true;
    clearTimeout(timer);
    slack.record({
      kind: 'ack',
      method: 'ack',
      args: { delivery: delivered.seq },
      response: response ?? null,
      durationMs: target.now() - started,
    });
    if (kind === 'slash_command') showAck(slack, renderer, response);
    resolveAcked(response);
  };
  const delivery: Delivery = { label, done: Promise.resolve() };
  delivery.done = app
    .processEvent({
      body,
      ack,
      retryNum: undefined,
      retryReason: undefined,
      customProperties: { ...options.customProperties },
    })
    .catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      renderer.notice(`the bot failed on ${label}: ${message}`);
    })
    .finally(() => {
      clearTimeout(timer);
      if (!acked) renderer.notice(`the bot never acked ${label}: Slack would show "operation_timeout"`);
      target.inflight.delete(delivery);
      resolveAcked();
    });
  target.inflight.add(delivery);
  return ackedPromise;
}

/** What the bot passed to ack() for a command: shown as Slack shows it (command-ack.ts). */
function showAck(slack: SlackApiServer, renderer: SlackRenderer, response: unknown): void {
  const { workspace, identity } = slack;
  const where = { channel: identity.channelId, user: identity.userId };
  const shown = showCommandAck(workspace, identity, where, response);
  if (shown.shown === 'rejected')
    renderer.notice(`the bot acked with a message Slack would reject: ${JSON.stringify(shown.error)}`);
}
