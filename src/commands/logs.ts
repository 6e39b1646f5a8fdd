import { indexMachines } from '../evidence/match-machine.ts';
import { knownSecretValues, scrubSecrets } from '../evidence/scrub-secrets.ts';
import { escapeMrkdwn } from '../slack/cards/card-parts.ts';
import type { CommandContext, Outcome } from './command-context.ts';
import { machineInReach } from './find-machine.ts';

/** Characters per line and in the whole answer (a section's text holds 3,000). */
const LINE_CHARS = 300;
const ANSWER_CHARS = 2_700;

/**
 * `/vyx logs [machine] [--lines N]` (and the Logs button): the machine's last lines from Fly's logs
 * endpoint, secret values scrubbed, shown only to the asker. The newest lines win when they do not
 * all fit.
 */
export async function logsCommand(
  ctx: CommandContext,
  machineId: string | undefined,
  lines: number,
): Promise<Outcome> {
  const found = await machineInReach(ctx, machineId, 'read its logs');
  if ('outcome' in found) return found.outcome;
  const { machine: row } = found;
  const { fly, logs, config, secretValues } = ctx.deps;
  const app = row.fly_app ?? config.flyApp;
  // One list (include_deleted) ties the row to its Fly machine as the watcher does, by any key.
  const [match] = indexMachines(await fly.list(app, { includeDeleted: true })).matchAll([row]);
  if (!match) {
    await ctx.reply(
      `Machine \`${row.machine_id}\` (${row.status}) has no Fly machine in \`${app}\`, so there are no logs to show. \`/vyx diagnose ${row.machine_id}\` says why.`,
    );
    return { outcome: 'ok', machineId: row.machine_id, detail: 'no Fly machine' };
  }
  const flyMachine = match.machine;
  const page = await logs.machineLogs(app, flyMachine.id);
  const known = [...knownSecretValues(flyMachine.config?.env), ...secretValues()];
  const shown: string[] = [];
  let size = 0;
  for (const l of page.lines.slice(-lines).reverse()) {
    const text = scrubSecrets(l.message.replace(/\s+$/, ''), known);
    const line = escapeMrkdwn(
      `${l.timestamp.slice(0, 19).replace('T', ' ')} ${text.length > LINE_CHARS ? `${text.slice(0, LINE_CHARS - 1)}…` : text}`,
    ).replace(/`/g, "'");
    if (size + line.length + 1 > ANSWER_CHARS) break;
    shown.unshift(line);
    size += line.length + 1;
  }
  const head = `Machine \`${row.machine_id}\` (Fly \`${flyMachine.id}\`, ${flyMachine.state})`;
  if (shown.length === 0) {
    await ctx.reply(`${head}: Fly has no log lines for it (it keeps them about 7 days).`);
    return { outcome: 'ok', machineId: row.machine_id, detail: 'no lines' };
  }
  const title = `${head}: the last ${shown.length} log line${shown.length === 1 ? '' : 's'}${shown.length < Math.min(lines, page.lines.length) ? ' that fit' : ''}, secret values scrubbed`;
  await ctx.reply({
    text: `${title}\n${shown.join('\n')}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: title } },
      { type: 'section', text: { type: 'mrkdwn', text: `\`\`\`${shown.join('\n')}\`\`\`` } },
    ],
  });
  return { outcome: 'ok', machineId: row.machine_id, detail: `${shown.length} lines` };
}
