import { age, STATUS_EMOJI } from '../slack/cards/card-parts.ts';
import { authorize } from './authorize.ts';
import type { CommandContext, Outcome } from './command-context.ts';

/** `/vyx list`: your machines, newest first (an admin sees everyone's). */
export async function list(ctx: CommandContext): Promise<Outcome> {
  const auth = authorize(ctx.identity, { verb: 'list machines' });
  if (!auth.ok) {
    await ctx.reply(auth.reason);
    return { outcome: 'denied', detail: 'not linked' };
  }
  const admin = auth.identity.role === 'admin';
  const machines = await ctx.deps.store.listMachines({
    ...(admin ? {} : { userId: auth.identity.user_id }),
    limit: 20,
  });
  if (machines.length === 0) {
    await ctx.reply(
      admin ? 'There are no machines yet.' : 'You have no machines yet. `/vyx start` starts one.',
    );
    return { outcome: 'ok', detail: '0 machines' };
  }
  const now = ctx.deps.now();
  const lines = machines.map(
    (m) =>
      `${STATUS_EMOJI[m.status] ?? ':grey_question:'} \`${m.machine_id}\` *${m.status}*${m.region ? ` · ${m.region}` : ''} · started ${age(m.created_at, now)}${admin ? ` · ${m.user_id}` : ''}${m.diagnosis ? ` · last diagnosis ${m.diagnosis.code}` : ''}`,
  );
  const text = `${admin ? 'All machines' : 'Your machines'} (newest first):\n${lines.join('\n')}`;
  await ctx.reply({ text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });
  return { outcome: 'ok', detail: `${machines.length} machines` };
}
