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
import { type ParseResult, parseCommand } from './parse-command.ts';
import { start } from './start.ts';
import { status } from './status.ts';

/**
 * The answer of a command that needs nothing but its own text — help, and a command that does not
 * parse (its problem and usage) — or undefined when the command has work to do.
 */
export function immediateAnswer(parsed: ParseResult): { answer: Card; outcome: Outcome } | undefined {
  if (!parsed.ok)
    return {
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
  if (parsed.command.name === 'help') return { answer: helpCard(), outcome: { outcome: 'ok' } };
  return undefined;
}

/**
 * `/vyx <text>`: parse, authorize, act, answer privately, and write the audit log — whatever
 * happens, nothing escapes and nothing is left unanswered.
 */
export async function handleCommand(ctx: CommandContext, text: string): Promise<Outcome> {
  const parsed = parseCommand(text);
  let outcome: Outcome;
  let name = parsed.ok ? parsed.command.name : 'invalid';
  try {
    const immediate = immediateAnswer(parsed);
    if (immediate) {
      await ctx.reply(immediate.answer);
      outcome = immediate.outcome;
    } else if (parsed.ok && parsed.command.name !== 'help') {
      const c = parsed.command;
      name = c.name;
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
    } else throw new Error('an immediate answer was expected');
  } catch (err) {
    ctx.deps.logger.error(
      {
        err: isVyxError(err)
          ? err.toJSON()
          : { message: (err as Error)?.message, stack: (err as Error)?.stack },
        requestId: ctx.requestId,
      },
      `/vyx ${name} failed`,
    );
    await ctx.reply(failureText(err)).catch(() => {});
    outcome = { outcome: 'error', detail: isVyxError(err) ? err.code : 'internal error' };
  }
  await audit(ctx, 'command', name, text, outcome);
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
