import { randomBytes } from 'node:crypto';
import { errorFields } from '../errors/error-line.ts';
import { isVyxError, VyxError } from '../errors/vyx-error.ts';
import type { Logger } from '../logger.ts';
import { statusCard } from '../slack/cards/status-card.ts';
import type { ProvisionStep } from '../store/provisioning-schemas.ts';
import { type AbandonedProvision, abandonProvision } from './abandon-provision.ts';
import { cleanUpLeftover } from './clean-up-leftover.ts';
import { createFlyMachine } from './create-fly-machine.ts';
import { failProvision } from './fail-provision.ts';
import { preflightProvision } from './preflight-provision.ts';
import type { ProvisionDeps, ProvisionOutcome, ProvisionRequest } from './provision-types.ts';
import { resolveImage } from './resolve-image.ts';

/**
 * Provisioning as DESIGN §4: preflight (the tag exists; every contract variable has a value) refuses
 * a doomed machine before anything is created; then the row, the parent message and its thread,
 * the Fly machine (config.env from the contract, metadata naming the row), the wait for `started`.
 * The runtime's `running` reaches the thread through the outbox. Any failure leaves a diagnosis in
 * the thread and the row `failed`: no row is left `starting` by the bot. Each step is recorded
 * (`vyx_provisionings`: create key, step, a lease) so that a crash or a lost Fly answer is resolved
 * by ProvisionRecovery — the machine found by its create key and linked, or the row failed.
 */
export class Provisioner {
  private readonly deps: ProvisionDeps;
  /** Provisionings in progress (shutdown gives up on those still running at its deadline). */
  private readonly inFlight = new Map<number, ProvisionRequest>();
  private seq = 0;
  /** Machines this process started: the local shell waits for their news, never for other rows'. */
  private readonly startedHere = new Set<string>();

  constructor(deps: ProvisionDeps) {
    this.deps = deps;
  }

  /** Provisions in progress (the local shell waits for none before it exits). */
  busy(): boolean {
    return this.inFlight.size > 0;
  }

  /** The machines this process accepted to start, oldest first. */
  machinesStartedHere(): string[] {
    return [...this.startedHere];
  }

  async start(req: ProvisionRequest): Promise<ProvisionOutcome> {
    const id = ++this.seq;
    this.inFlight.set(id, req);
    try {
      const result = await this.run(req);
      if (result.kind === 'refused' || result.kind === 'failed') {
        this.deps.metrics?.diagnoses.inc({ code: result.diagnosis.code, source: 'provision' });
      }
      return result;
    } finally {
      this.inFlight.delete(id);
    }
  }

  /**
   * Shutdown, at the deadline: each provisioning still running is given up — its row marked failed
   * with a diagnosis, its half-made Fly machine destroyed, its user told to start again.
   */
  abandonAll(why: string, log: Logger): Promise<AbandonedProvision[]> {
    return Promise.all([...this.inFlight.values()].map((req) => abandonProvision(this.deps, log, req, why)));
  }

  private async run(req: ProvisionRequest): Promise<ProvisionOutcome> {
    const { store, fly, slack, config, logger, now } = this.deps;
    const image = resolveImage(req.image, config.defaultImage, this.deps.registry.policy);
    const region = req.region ?? config.defaultRegion;
    const log = logger.child({ requestId: req.requestId, userId: req.userId });

    const active = await store.getActiveMachine(req.userId);
    if (active) return { kind: 'existing', machine: active };
    const preflight = await preflightProvision(this.deps, image, req.userId);
    const warning = preflight && 'warning' in preflight ? preflight.warning : undefined;
    const refused = preflight && 'code' in preflight ? preflight : undefined;
    if (refused) {
      log.info({ code: refused.code, image }, 'provision refused at preflight');
      return { kind: 'refused', diagnosis: refused, image };
    }

    const createKey = randomBytes(12).toString('hex');
    // The lease outlives the longest step (the wait for `started`); a crash frees it after that, a
    // restart of this replica at once.
    const leaseS = Math.ceil(config.startTimeoutMs / 1000) + 60;
    const owner = this.deps.owner;
    const begun = await store.beginTrackedProvision({
      userId: req.userId,
      flyApp: config.flyApp,
      region,
      image,
      slackTeamId: req.slackTeamId,
      slackChannel: req.channel,
      requestedBy: req.slackUserId,
      createKey,
      owner,
      leaseS,
    });
    if (!begun.created) return { kind: 'existing', machine: begun.machine };
    let machine = begun.machine;
    const id = machine.machine_id;
    this.startedHere.add(id);
    await req.onAccepted?.(id, warning).catch(() => {});
    log.info({ machineId: id, image, region, createKey }, 'provisioning');
    const step = async (s: ProvisionStep, more: { flyMachineId?: string; detail?: string } = {}) => {
      if (!(await store.provisionStep(id, owner, s, { leaseS, ...more }))) {
        throw new VyxError('PROVISION_TAKEN_OVER', `provisioning of ${id} was taken over by a recovery`, {
          suggestion: 'Nothing to do: the recovery links the machine or fails the row and tells the user.',
        });
      }
    };

    // The parent message anchors the thread (a response_url gives no ts; ephemerals cannot thread).
    let thread: { channel: string; ts: string } | undefined;
    try {
      const card = statusCard(machine, now(), { title: `Machine ${id} for <@${req.slackUserId}>` });
      thread = await slack.post({ channel: req.channel, text: card.text, blocks: card.blocks });
      machine = await store.setSlackThread(id, thread.channel, thread.ts);
    } catch (err) {
      log.error(
        { err: errorFields(err), machineId: id },
        'could not post the parent message; continuing without a thread',
      );
      await req.onThreadFailed?.(err).catch(() => {});
    }
    const reply = async (text: string) => {
      if (!thread) return;
      await slack.post({ channel: thread.channel, threadTs: thread.ts, text }).catch((err: unknown) => {
        log.warn({ err: errorFields(err), machineId: id }, 'thread reply failed');
      });
    };
    if (warning) await reply(`:warning: ${warning}`);

    let flyMachineId: string | undefined;
    /** Why the Fly machine made for a row that ended could not be destroyed here (recovery will). */
    let leftover: string | undefined;
    try {
      await step('creating');
      const created = await createFlyMachine(this.deps, {
        machineId: id,
        userId: req.userId,
        image,
        region,
        createKey,
      });
      if (created.kind === 'unknown') {
        // Fly may have made it; whoever resolves it next (the watcher's tick) looks by the create key.
        await store
          .provisionStep(id, owner, 'creating', { leaseS: 0, detail: created.reason })
          .catch(() => {});
        await reply(
          `:hourglass_flowing_sand: Fly did not answer the create (${created.reason}), and I cannot ask it yet whether it made the machine. I’ll find out and say so here.`,
        );
        log.warn(
          { machineId: id, createKey, reason: created.reason },
          'create unresolved; handed to recovery',
        );
        return { kind: 'unresolved', machine, reason: created.reason };
      }
      flyMachineId = created.machine.id;
      await step('created', { flyMachineId });
      try {
        machine = await store.attachFlyMachine(id, flyMachineId, config.flyApp);
        // Destroyed (or failed) while the create was in flight: the machine must not outlive its row.
        if (machine.status === 'destroyed' || machine.status === 'failed') {
          throw new VyxError('PROVISION_ROW_ENDED', `machine ${id} was ${machine.status} while Fly made it`, {
            suggestion: 'Nothing to do: its Fly machine was destroyed with it.',
          });
        }
      } catch (err) {
        // A machine no row points at (or whose row has ended) is waste: take it back down.
        leftover = await cleanUpLeftover(this.deps, id, flyMachineId, log);
        throw err;
      }
      await reply(`Fly machine \`${flyMachineId}\` created in ${region} from \`${image}\`; booting…`);
      await step('waiting');
      const waited = await fly.wait(config.flyApp, flyMachineId, {
        state: 'started',
        timeoutMs: config.startTimeoutMs,
      });
      if (waited.state !== 'started') {
        throw new VyxError(
          'FLY_NOT_STARTED',
          `Fly machine ${flyMachineId} ended ${waited.state} instead of started`,
          {
            suggestion: 'See the diagnosis in the thread.',
          },
        );
      }
      await step('done');
      await reply('Fly says the machine started; waiting for its runtime to report `running`…');
      return { kind: 'started', machine };
    } catch (err) {
      if (isVyxError(err, 'PROVISION_TAKEN_OVER')) {
        log.warn({ machineId: id, flyMachineId }, 'provisioning taken over by a recovery; stopping here');
        // The recovery may already have failed the row before this machine existed: then it is waste.
        const row = await store.getMachine(id).catch(() => machine);
        if (flyMachineId && (row.status === 'failed' || row.status === 'destroyed') && !row.fly_machine_id) {
          // Not ours to hand over any more: a leftover is the stuck watcher's ORPHAN_MACHINE (logged).
          await cleanUpLeftover(this.deps, id, flyMachineId, log);
        }
        return { kind: 'unresolved', machine: row, reason: err.message };
      }
      log.warn({ err: errorFields(err), machineId: id, flyMachineId }, 'provisioning failed');
      const diagnosis = await failProvision(this.deps, machine, err);
      await (leftover
        ? // Left unfinished and due at once: recovery's next tick destroys it under its lease.
          store.provisionStep(id, owner, 'created', { leaseS: 0, detail: leftover })
        : store.provisionStep(id, owner, 'failed', { detail: diagnosis.code })
      ).catch((stepErr: unknown) =>
        log.error({ err: errorFields(stepErr), machineId: id }, 'could not record the provisioning failed'),
      );
      return { kind: 'failed', machine: await store.getMachine(id).catch(() => machine), diagnosis };
    }
  }
}
