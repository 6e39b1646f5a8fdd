/**
 * `!N` / `press N`: a `block_actions` payload for button N as numbered by the renderer, on a
 * message or on the Home tab. A button no longer shown sends nothing, as Slack's cannot be
 * pressed; a button with a `confirm` object first asks "Are you sure? [y/N]" (anything but `y`
 * sends nothing).
 */
import { blockActionsBody, homeBlockActionsBody, stillHas } from './shell-payloads.ts';
import type { SlackApiServer } from './slack-api-server.ts';
import type { PressableButton, SlackRenderer } from './slack-renderer.ts';

export interface PressButtonHost {
  slack: SlackApiServer;
  renderer: SlackRenderer;
  /** Scripted mode (false) prints the confirm question and echoes the answer. */
  interactive: boolean;
  now: () => number;
  nextLine(prompt: string): Promise<string | undefined>;
  deliver(
    kind: 'block_actions',
    method: string,
    label: string,
    body: Record<string, unknown>,
  ): Promise<unknown>;
}

export async function pressButton(host: PressButtonHost, number: number): Promise<void> {
  const { renderer, slack } = host;
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
    if (button.confirm && !(await confirm(host, button))) {
      renderer.notice(`${button.confirm.deny}: nothing sent`);
      return;
    }
    const body = homeBlockActionsBody(slack, button, host.now());
    await host.deliver('block_actions', 'block_actions', `button ${number} (${button.text})`, body);
    return;
  }
  const message = button.ephemeral ? undefined : slack.workspace.message(button.channel, button.messageTs);
  const current = button.ephemeral ? slack.workspace.ephemeral(button.messageTs) : message;
  if (!current || ('deleted' in current && current.deleted)) {
    renderer.notice(`button ${number} (${button.text}) is on a message that no longer exists; nothing sent`);
    return;
  }
  if (!stillHas(current.blocks, button)) {
    renderer.notice(`button ${number} (${button.text}) is no longer on its message; nothing sent`);
    return;
  }
  if (button.confirm && !(await confirm(host, button))) {
    renderer.notice(`${button.confirm.deny}: nothing sent`);
    return;
  }
  const body = blockActionsBody(slack, button, message, host.now());
  await host.deliver('block_actions', 'block_actions', `button ${number} (${button.text})`, body);
}

async function confirm(host: PressButtonHost, button: PressableButton): Promise<boolean> {
  const c = button.confirm!;
  const { renderer } = host;
  renderer.notice(`${c.title}${c.text ? ` — ${c.text}` : ''} [${c.confirm} / ${c.deny}]`);
  if (!host.interactive) renderer.notice('Are you sure? [y/N]');
  const answer = await host.nextLine('Are you sure? [y/N] ');
  if (answer !== undefined && !host.interactive)
    renderer.userLine(host.slack.identity.channelId, answer.trim());
  return answer !== undefined && /^y(es)?$/i.test(answer.trim());
}
