import { diagnosisCard } from '../slack/cards/diagnosis-card.ts';
import { statusCard } from '../slack/cards/status-card.ts';
import { cannotPostHere, classifySlackError } from '../slack/slack-errors.ts';
import { authorize } from './authorize.ts';
import type { CommandContext, Outcome } from './command-context.ts';

/** `/vyx start [--region R] [--image TAG]`: one active machine per user; a doomed one is refused at preflight. */
export async function start(
  ctx: CommandContext,
  options: { region?: string; image?: string },
): Promise<Outcome> {
  const auth = authorize(ctx.identity, { verb: 'start machines' });
  if (!auth.ok) {
    await ctx.reply(auth.reason);
    return { outcome: 'denied', detail: 'not linked' };
  }
  const { provisioner, now, config } = ctx.deps;
  let accepted = '';
  const result = await provisioner.start({
    onAccepted: (id) => {
      accepted = id;
      return ctx.reply(`Starting machine \`${id}\`… I’ll post it in this channel and follow it in a thread.`);
    },
    // At once, privately: where the follow-up cannot go, and what to do about it.
    onThreadFailed: (err) =>
      ctx.reply(
        `${cannotPostHere(classifySlackError(err), ctx.channelId)} Machine \`${accepted}\` is starting anyway; \`/vyx status\` shows how it goes, and I will tell you in a direct message.`,
      ),
    userId: auth.identity.user_id,
    slackTeamId: ctx.teamId,
    slackUserId: ctx.slackUserId,
    channel: ctx.channelId,
    requestId: ctx.requestId,
    ...(options.region ? { region: options.region } : {}),
    ...(options.image ? { image: options.image } : {}),
  });
  switch (result.kind) {
    case 'existing':
      await ctx.reply(
        statusCard(result.machine, now(), { title: `You already have machine ${result.machine.machine_id}` }),
      );
      return { outcome: 'ok', machineId: result.machine.machine_id, detail: 'existing' };
    case 'refused':
      await ctx.reply(
        diagnosisCard(result.diagnosis, {
          machineId: '(not created)',
          ...(config.runbookBaseUrl ? { runbookBaseUrl: config.runbookBaseUrl } : {}),
          buttons: [],
        }),
      );
      return { outcome: 'error', detail: `refused at preflight: ${result.diagnosis.code}` };
    case 'started':
      return { outcome: 'ok', machineId: result.machine.machine_id };
    case 'failed':
      await ctx.reply(
        `Machine \`${result.machine.machine_id}\` failed to start (${result.diagnosis.code}); the diagnosis is in its thread.`,
      );
      return { outcome: 'error', machineId: result.machine.machine_id, detail: result.diagnosis.code };
  }
}
