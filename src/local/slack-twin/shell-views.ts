/**
 * The shell's views: `/home` opens the Home tab (an `app_home_opened` event to the bot, then the
 * published view as text, its buttons numbered); `dialog` fills in the open modal, a prompt per
 * input (a select takes an option's number or value, Enter keeps the default, `cancel` closes
 * it), submits it as a `view_submission`, and shows what the bot's ack decided: errors under their
 * fields (and the prompts again), or the dialog closed.
 */
import type { SlackApiServer } from './slack-api-server.ts';
import type { SlackRenderer } from './slack-renderer.ts';
import type { StoredView } from './slack-views.ts';

export interface ShellViewsHost {
  slack: SlackApiServer;
  renderer: SlackRenderer;
  /** Echo what a script answered (scripted mode). */
  echo(text: string): void;
  nextLine(prompt: string): Promise<string | undefined>;
  /** Delivers a body to the bot; resolves with what its ack carried. */
  deliver(
    kind: 'event' | 'view_submission',
    method: string,
    label: string,
    body: Record<string, unknown>,
  ): Promise<unknown>;
  /** Waits until the bot is idle (its Home published, its dialog opened). */
  settle(): Promise<void>;
}

/** `/home`: the Home tab as the bot publishes it for the person at the terminal. */
export async function showHome(host: ShellViewsHost): Promise<void> {
  const { slack, renderer } = host;
  const user = slack.identity.userId;
  await host.deliver('event', 'app_home_opened', '/home', slack.homeOpenedBody(user));
  await host.settle();
  const home = slack.views.home(user);
  if (!home) {
    renderer.notice('the bot published no Home tab');
    return;
  }
  renderer.showView(home);
}

type Input = { blockId: string; label: string; element: Record<string, unknown> };

const inputsOf = (view: StoredView): Input[] =>
  view.blocks
    .filter((b) => b.type === 'input')
    .map((b) => ({
      blockId: String(b.block_id),
      label: String((b.label as { text?: unknown } | undefined)?.text ?? b.block_id),
      element: (b.element ?? {}) as Record<string, unknown>,
    }));

type Option = { value: string; text: { text: string } };

/** One answer for one input; undefined when the person cancelled (or the input ended). */
async function ask(host: ShellViewsHost, input: Input): Promise<string | undefined | 'cancel'> {
  const el = input.element;
  const options = el.type === 'static_select' ? ((el.options ?? []) as Option[]) : undefined;
  const initial =
    (el.initial_option as Option | undefined)?.value ??
    (typeof el.initial_value === 'string' ? el.initial_value : undefined);
  if (options) {
    host.renderer.notice(
      `${input.label}: ${options.map((o, i) => `${i + 1} ${o.text.text}`).join(' · ')}`.slice(0, 2000),
    );
  }
  for (;;) {
    const line = await host.nextLine(`${input.label}${initial ? ` [${initial}]` : ''}: `);
    if (line === undefined) return undefined;
    const text = line.trim();
    host.echo(text);
    if (text.toLowerCase() === 'cancel') return 'cancel';
    if (text === '') {
      if (initial !== undefined) return initial;
      host.renderer.notice(`${input.label} needs an answer (or type cancel)`);
      continue;
    }
    if (!options) return text;
    // A select offers only its options, as Slack's does: a number or an option's value.
    const byNumber = /^\d+$/.test(text) ? options[Number(text) - 1] : undefined;
    const chosen = byNumber ?? options.find((o) => o.value === text);
    if (chosen) return chosen.value;
    host.renderer.notice(`${text} is not one of the ${options.length} options; choose again`);
  }
}

/** `dialog`: fills in and submits the open modal; resolves once it closed or was given up. */
export async function fillDialog(host: ShellViewsHost): Promise<void> {
  const { slack, renderer } = host;
  const user = slack.identity.userId;
  if (slack.views.modals(user).length === 0) await host.settle();
  let view = slack.views.modals(user).at(-1);
  if (!view) {
    renderer.notice('no dialog is open');
    return;
  }
  let errors: Record<string, string> = {};
  renderer.showView(view);
  const answers: Record<string, string> = {};
  for (;;) {
    // The first time every input is asked; after errors, only those with an error.
    const asking = inputsOf(view).filter((i) => Object.keys(errors).length === 0 || errors[i.blockId]);
    for (const input of asking) {
      const answer = await ask(host, input);
      if (answer === undefined || answer === 'cancel') {
        slack.views.close(view.id);
        renderer.notice(answer === 'cancel' ? 'dialog cancelled: nothing sent' : 'dialog left: nothing sent');
        return;
      }
      answers[input.blockId] = answer;
    }
    const response = await host.deliver(
      'view_submission',
      'view_submission',
      `dialog "${String((view.title as { text?: unknown } | undefined)?.text ?? view.id)}"`,
      slack.viewSubmissionBody(view.id, answers),
    );
    const outcome = slack.views.answerSubmission(view.id, response);
    if (outcome.kind === 'closed') {
      renderer.notice('dialog submitted and closed');
      return;
    }
    if (outcome.kind === 'refused') {
      renderer.notice(`Slack would refuse the bot's answer to the dialog: ${outcome.reason}`);
      return;
    }
    view = slack.views.modal(view.id) ?? view;
    errors = outcome.kind === 'errors' ? outcome.errors : {};
    renderer.showView(view, errors);
  }
}
