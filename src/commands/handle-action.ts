import { isVyxError } from '../errors/vyx-error.ts';
import { ACTIONS } from '../slack/cards/card-parts.ts';
import { failureText } from '../slack/cards/failure-text.ts';
import { authorize } from './authorize.ts';
import type { CommandContext, Outcome } from './command-context.ts';
import { destroyConfirmed } from './destroy.ts';
import { diagnoseCommand } from './diagnose.ts';
import { machineInReach } from './find-machine.ts';
import { audit } from './handle-command.ts';
import { logsCommand } from './logs.ts';
import { machinePower } from './machine-power.ts';
import { LOG_LINES_DEFAULT } from './parse-command.ts';
import { start } from './start.ts';

const SILENCE_FOR_MS = 24 * 3600 * 1000;

/** A button press on a card: Destroy (already confirmed in Slack's dialog), Diagnose, Retry, Silence, Logs. */
export async function handleAction(ctx: CommandContext, actionId: string, value: string): Promise<Outcome> {
  let outcome: Outcome;
  try {
    switch (actionId) {
      case ACTIONS.destroy:
        outcome = await destroyConfirmed(ctx, value);
        break;
      case ACTIONS.diagnose:
        outcome = await diagnoseCommand(ctx, value);
        break;
      case ACTIONS.retry:
        outcome = await retry(ctx, value);
        break;
      case ACTIONS.restart:
        outcome = await machinePower(ctx, 'restart', value);
        break;
      case ACTIONS.stop:
        outcome = await machinePower(ctx, 'stop', value);
        break;
      case ACTIONS.silence:
        outcome = await silence(ctx, value);
        break;
      case ACTIONS.logs:
        outcome = await logsCommand(ctx, value, LOG_LINES_DEFAULT);
        break;
      default:
        await ctx.reply('That button is not one I know any more.');
        outcome = { outcome: 'invalid', detail: `unknown action ${actionId}` };
    }
  } catch (err) {
    ctx.deps.logger.error(
      { err: isVyxError(err) ? err.toJSON() : (err as Error)?.message, requestId: ctx.requestId },
      `button ${actionId} failed`,
    );
    await ctx.reply(failureText(err)).catch(() => {});
    outcome = { outcome: 'error', detail: isVyxError(err) ? err.code : 'internal error' };
  }
  await audit(ctx, 'button', actionId, value, outcome);
  return outcome;
}

/** Retry: start a new machine for the owner of the one that failed, with its region and image. */
async function retry(ctx: CommandContext, machineId: string): Promise<Outcome> {
  const found = await machineInReach(ctx, machineId, 'retry it');
  if ('outcome' in found) return found.outcome;
  const { machine } = found;
  if (ctx.identity?.user_id !== machine.user_id) {
    await ctx.reply('Retry starts a machine for yourself; ask the owner to press it.');
    return { outcome: 'denied', machineId };
  }
  return start(ctx, {
    ...(machine.region ? { region: machine.region } : {}),
    ...(machine.image ? { image: machine.image } : {}),
  });
}

async function silence(ctx: CommandContext, value: string): Promise<Outcome> {
  const [machineId = '', code = ''] = value.split('|');
  const auth = authorize(ctx.identity, { verb: 'silence alerts' });
  if (!auth.ok) {
    await ctx.reply(auth.reason);
    return { outcome: 'denied', machineId };
  }
  await ctx.deps.store.silenceDiagnosis(machineId, code, new Date(ctx.deps.now().getTime() + SILENCE_FOR_MS));
  await ctx.reply(`Silenced ${code} on \`${machineId}\` for 24 h.`);
  return { outcome: 'ok', machineId, detail: code };
}
