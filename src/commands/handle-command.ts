import { isVyxError } from '../errors/vyx-error.ts';
import { failureText } from '../slack/cards/failure-text.ts';
import type { Card } from '../slack/cards/status-card.ts';
import type { CommandContext, Outcome } from './command-context.ts';
import { destroy } from './destroy.ts';
import { diagnoseCommand } from './diagnose.ts';
import { helpCard } from './help.ts';
import { link } from './link.ts';
import { list } from './list.ts';
import { logsCommand } from './logs.ts';
import { machinePower } from './machine-power.ts';
import { markFailed } from './mark-failed.ts';
import { notify } from './notify.ts';
import type { ParseResult, VyxCommand } from './parse-command.ts';
import { start } from './start.ts';
import { status } from './status.ts';

/** A command with work to do (everything but help). */
export type WorkCommand = Exclude<VyxCommand, { name: 'help' }>;

/**
 * What a parsed `/vyx` text needs: an answer made of its own text alone — help, or a command that
 * does not parse (its problem and usage) — or work.
 */
export type Triage =
  | { name: 'help' | 'invalid'; answer: Card; outcome: Outcome }
  | { name: WorkCommand['name']; command: WorkCommand };

export function triage(parsed: ParseResult): Triage {
  if (!parsed.ok)
    return {
      name: 'invalid',
      answer: {
        text: `${parsed.problem}\nUsage: ${parsed.usage}`,
        blocks: [
          {
            type: 'section',
            text: { type: 'mrkdwn', text: `${parsed.problem}\n*Usage*\n\`\`\`${parsed.usage}\`\`\`` },
          },
        ],
      },
      outcome: { outcome: 'invalid', detail: parsed.problem },
    };
  const c = parsed.command;
  if (c.name === 'help') return { name: 'help', answer: helpCard(), outcome: { outcome: 'ok' } };
  return { name: c.name, command: c };
}

/**
 * A `/vyx` command with work to do: authorize, act, answer privately, and write the audit log —
 * whatever happens, nothing escapes and nothing is left unanswered.
 */
export async function handleCommand(ctx: CommandContext, c: WorkCommand, text: string): Promise<Outcome> {
  let outcome: Outcome;
  try {
    switch (c.name) {
      case 'start':
        outcome = await start(ctx, c);
        break;
      case 'status':
        outcome = await status(ctx, c.machineId);
        break;
      case 'list':
        outcome = await list(ctx);
        break;
      case 'destroy':
        outcome = await destroy(ctx, c.machineId);
        break;
      case 'stop':
      case 'restart':
        outcome = await machinePower(ctx, c.name, c.machineId);
        break;
      case 'notify':
        outcome = await notify(ctx, c.on);
        break;
      case 'fail':
        outcome = await markFailed(ctx, c.machineId, c.reason);
        break;
      case 'diagnose':
        outcome = await diagnoseCommand(ctx, c.machineId);
        break;
      case 'logs':
        outcome = await logsCommand(ctx, c.machineId, c.lines);
        break;
      case 'link':
        outcome = await link(ctx, c);
        break;
    }
  } catch (err) {
    ctx.deps.logger.error(
      {
        err: isVyxError(err)
          ? err.toJSON()
          : { message: (err as Error)?.message, stack: (err as Error)?.stack },
        requestId: ctx.requestId,
      },
      `/vyx ${c.name} failed`,
    );
    await ctx.reply(failureText(err)).catch(() => {});
    outcome = { outcome: 'error', detail: isVyxError(err) ? err.code : 'internal error' };
  }
  await audit(ctx, 'command', c.name, text, outcome);
  return outcome;
}

export async function audit(
  ctx: CommandContext,
  action: 'command' | 'button',
  name: string,
  args: string,
  o: Outcome,
): Promise<void> {
  await ctx.deps.store
    .recordAudit({
      action,
      name,
      outcome: o.outcome,
      slackTeamId: ctx.teamId,
      slackUserId: ctx.slackUserId,
      ...(ctx.identity ? { userId: ctx.identity.user_id } : {}),
      args: args.slice(0, 500),
      ...(o.machineId ? { machineId: o.machineId } : {}),
      ...(o.detail ? { detail: o.detail.slice(0, 500) } : {}),
      requestId: ctx.requestId,
    })
    .catch((err: unknown) =>
      ctx.deps.logger.error({ err: (err as Error).message, requestId: ctx.requestId }, 'audit write failed'),
    );
}
