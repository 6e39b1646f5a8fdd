/**
 * What one shell line does, as read from the input or run by `ShellReceiver.runLine`:
 *
 * - `/vyx start …` → a slash-command body shaped like Slack's (command, text, user_id, user_name,
 *   team_id, team_domain, channel_id, channel_name, api_app_id, response_url pointing at the twin,
 *   trigger_id) delivered through `app.processEvent({ body, ack, retryNum, retryReason,
 *   customProperties })`. What the bot passes to `ack()` is shown as an ephemeral answer.
 * - `!2` or `press 2` → a `block_actions` payload for button 2 as numbered by the renderer
 *   (`response_url`, `container`, `message`, `channel`, `actions[{action_id, block_id, value, …}]`).
 *   A button with a `confirm` object first asks "Are you sure? [y/N]"; see press-button.ts.
 * - `/home` shows the Home tab; `dialog` fills in the open dialog (a prompt per input), see
 *   shell-views.ts.
 * - `wait` waits until the work is done; `buttons` lists the buttons; `help`; `exit`.
 */
import { type PressButtonHost, pressButton } from './press-button.ts';
import { slashCommandBody } from './shell-payloads.ts';
import { fillDialog, type ShellViewsHost, showHome } from './shell-views.ts';

export interface ShellLineHost extends PressButtonHost {
  /** Scripted mode: wait until settled before each next command. */
  settleBetweenCommands: boolean | undefined;
  /** Commands and button presses delivered so far. */
  deliveries(): number;
  /** Resolves once acked in scripted mode or with `always`; at once in interactive mode. */
  deliver(
    kind: 'slash_command' | 'block_actions' | 'event' | 'view_submission',
    method: string,
    label: string,
    body: Record<string, unknown>,
    always?: boolean,
  ): Promise<unknown>;
  /** Waits until the work is done; past the time limit says what is pending and goes on. */
  waitOrWarn(): Promise<void>;
}

const HELP = [
  'type a slash command (/vyx help), !N or "press N" to press button N, "buttons" to list them,',
  '"/home" to open the Home tab, "dialog" to fill in an open dialog,',
  '"wait" to wait until the bot is idle, "exit" to leave',
].join(' ');

/** Resolves once the line was handled (for commands: acked, or in interactive mode delivered). */
export async function runShellLine(host: ShellLineHost, line: string): Promise<'exit' | undefined> {
  const text = line.trim();
  if (text === '' || text.startsWith('#')) return undefined;
  const slack = host.slack;
  const echo = () => {
    if (!host.interactive) host.renderer.userLine(slack.identity.channelId, text);
  };
  if (text === '/home') {
    echo();
    await showHome(viewsHost(host));
    return undefined;
  }
  if (text.startsWith('/')) {
    if (!host.interactive && host.settleBetweenCommands && host.deliveries() > 0) await host.waitOrWarn();
    echo();
    await command(host, text);
    return undefined;
  }
  const press = /^(?:!|press\s+)(\d+)$/i.exec(text);
  if (press) {
    // A script presses a button on a card that may still be coming: let the work settle first.
    if (!host.interactive) await host.waitOrWarn();
    echo();
    await pressButton(host, Number(press[1]));
    return undefined;
  }
  echo();
  switch (text.toLowerCase()) {
    case 'wait':
      await host.waitOrWarn();
      return undefined;
    case 'dialog':
      await fillDialog(viewsHost(host));
      return undefined;
    case 'buttons': {
      const list = host.renderer.buttons();
      host.renderer.notice(
        list.length === 0 ? 'no buttons yet' : list.map((b) => `[${b.number} ${b.text}]`).join(' '),
      );
      return undefined;
    }
    case 'help':
    case '\\?':
      host.renderer.notice(HELP);
      return undefined;
    case 'exit':
    case 'quit':
    case '\\q':
      return 'exit';
    default:
      host.renderer.notice(`not a command: ${text} — ${HELP}`);
      return undefined;
  }
}

async function command(host: ShellLineHost, line: string): Promise<void> {
  const command = line.split(/\s+/)[0] ?? '';
  const text = line.slice(command.length).trim();
  const body = slashCommandBody(host.slack, command, text);
  await host.deliver('slash_command', command, `${command} ${text}`.trim(), body);
}

/** What shell-views.ts needs: a view's ack is always awaited (it decides what the person sees). */
function viewsHost(host: ShellLineHost): ShellViewsHost {
  return {
    slack: host.slack,
    renderer: host.renderer,
    echo: (text) => {
      if (!host.interactive) host.renderer.userLine(host.slack.identity.channelId, text);
    },
    nextLine: (prompt) => host.nextLine(prompt),
    deliver: (kind, method, label, body) => host.deliver(kind, method, label, body, true),
    settle: () => host.waitOrWarn(),
  };
}
