import { isVyxError } from '../errors/vyx-error.ts';
import { ownMachineOf } from '../evidence/match-machine.ts';
import { destroyButton } from '../slack/cards/card-parts.ts';
import type { CloudMachine } from '../store/store-schemas.ts';
import type { CommandContext, Outcome } from './command-context.ts';
import { machineInReach } from './find-machine.ts';
import { underLease } from './under-lease.ts';

/** `/vyx destroy [machine]`: asks first; the Destroy button (with its own confirm dialog) does it. */
export async function destroy(ctx: CommandContext, machineId: string | undefined): Promise<Outcome> {
  const found = await machineInReach(ctx, machineId, 'destroy it');
  if ('outcome' in found) return found.outcome;
  const { machine } = found;
  if (machine.status === 'destroyed') {
    await ctx.reply(`Machine \`${machine.machine_id}\` is already destroyed.`);
    return { outcome: 'ok', machineId: machine.machine_id, detail: 'already destroyed' };
  }
  const text = `Destroy machine \`${machine.machine_id}\` (${machine.status})? This cannot be undone.`;
  await ctx.reply({
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text } },
      {
        type: 'actions',
        block_id: `confirm-destroy:${machine.machine_id}`,
        elements: [destroyButton(machine.machine_id)],
      },
    ],
  });
  return { outcome: 'ok', machineId: machine.machine_id, detail: 'asked to confirm' };
}

/** The Destroy button: destroys the Fly machine (forced) and marks the row destroyed. */
export async function destroyConfirmed(ctx: CommandContext, machineId: string): Promise<Outcome> {
  const found = await machineInReach(ctx, machineId, 'destroy it');
  if ('outcome' in found) return found.outcome;
  const { machine } = found;
  if (machine.status === 'destroyed') {
    await ctx.reply(`Machine \`${machineId}\` is already destroyed.`);
    return { outcome: 'ok', machineId, detail: 'already destroyed' };
  }
  const held = await destroyMachine(ctx, machine);
  if (held) {
    await ctx.reply(
      `Not destroying \`${machineId}\`: its Fly lease is held by ${held}. Try again when that change is done.`,
    );
    return { outcome: 'invalid', machineId, detail: `lease held by ${held}` };
  }
  await ctx.reply(`Machine \`${machineId}\` is destroyed.`);
  return { outcome: 'ok', machineId };
}

/** Destroys under the machine's Fly lease; returns who holds it when someone else does (nothing changed). */
async function destroyMachine(ctx: CommandContext, machine: CloudMachine): Promise<string | undefined> {
  const { fly, store, config } = ctx.deps;
  const app = machine.fly_app ?? config.flyApp;
  // No Fly id recorded (a lost create answer, a crash, a row the web UI made): find the machine by
  // the provisioning's create key, vyxbot's metadata, its name or env MACHINE_ID. If Fly cannot be
  // listed this throws, and the row is not marked destroyed over a machine that may still run.
  let flyId = machine.fly_machine_id;
  if (!flyId) {
    const [machines, provisioning] = await Promise.all([
      fly.list(app, {}),
      store.getProvisioning(machine.machine_id),
    ]);
    flyId = ownMachineOf(machine, machines, provisioning?.create_key)?.machine.id ?? null;
  }
  if (flyId) {
    const id = flyId;
    const result = await underLease(
      ctx,
      { app, flyId: id, machineId: machine.machine_id, verb: 'destroy' },
      (leaseNonce) => fly.destroy(app, id, { force: true, leaseNonce }),
    ).catch((err: unknown) => {
      // Already gone on Fly is what we wanted; anything else stops here and is reported.
      if (isVyxError(err, 'FLY_NOT_FOUND')) return { done: undefined };
      throw err;
    });
    if ('held' in result) return result.held;
  }
  await store.reportStatus(machine.machine_id, 'destroyed', `destroyed by <@${ctx.slackUserId}>`);
  return undefined;
}
