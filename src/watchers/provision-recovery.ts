import { diagnose } from '../diagnose/diagnose.ts';
import type { Diagnosis, Evidence } from '../diagnose/diagnosis.ts';
import { describeMatch } from '../diagnose/match-evidence.ts';
import { errorLine } from '../errors/error-line.ts';
import { type MachineFound, ownMachineOf } from '../evidence/match-machine.ts';
import { destroyUnderLease } from '../fly/destroy-under-lease.ts';
import type { Machine } from '../fly/fly-types.ts';
import type { FlyMachinesClient } from '../fly/machines-client.ts';
import type { Logger } from '../logger.ts';
import type { SlackPoster } from '../slack/slack-poster.ts';
import type { ClaimedProvisioning } from '../store/provisioning-schemas.ts';
import type { VyxStore } from '../store/vyx-store.ts';

export interface ProvisionRecoveryOptions {
  store: VyxStore;
  fly: Pick<FlyMachinesClient, 'list' | 'destroy' | 'acquireLease' | 'releaseLease'>;
  slack: Pick<SlackPoster, 'post'>;
  logger: Logger;
  /** This replica's name (VYX_REPLICA_ID). */
  owner: string;
  defaultApp: string;
  stuckAfterS: number;
  now?: () => Date;
}

/**
 * How many times recovery claims a provisioning whose leftover machine's lease someone else holds
 * before it gives up (a tick apart each; a lease vyxbot takes lasts 60 s, flyctl's its own TTL).
 */
export const MAX_CLEANUP_TAKEOVERS = 5;

/** What recovery did with one unfinished provisioning. */
export interface Recovered {
  machineId: string;
  /**
   * linked: its machine found and recorded on the row; failed: the row failed with a diagnosis;
   * closed: the row had already ended (its leftover machine destroyed, if any); deferred: Fly could
   * not be listed, or the leftover's lease is held by someone else — tried again next tick;
   * abandoned: that lease was still held after MAX_CLEANUP_TAKEOVERS tries (the user is told).
   */
  outcome: 'linked' | 'failed' | 'closed' | 'deferred' | 'abandoned';
  /** Who held the leftover machine's lease, when that stopped its destroy. */
  holder?: string;
  step: string;
  flyMachineId?: string;
  /** How the machine was found. */
  by?: string;
  code?: string;
  /** The user was told in the machine's thread (or its channel). */
  told: boolean;
}

/**
 * Resolves provisionings left unfinished — by a crash (kill -9, OOM, a lost host) or by a create
 * whose answer was lost — so no row stays `starting` and no machine stays without its row. Runs at
 * start-up (taking back this replica's own, whose process is gone) and on every stuck-watcher tick
 * (those whose lease ran out). Each is claimed under a lease (SKIP LOCKED: once across replicas).
 * Per app Fly is listed once; the machine is looked for by the row's Fly id (which the runtime's
 * own report may have recorded), the provisioning's create key, vyxbot's metadata, the name, env
 * MACHINE_ID. Found: linked (or, when its row has already ended, destroyed). Not found, or found
 * destroyed: the row failed with a diagnosis. Either way the user is told.
 */
export class ProvisionRecovery {
  private readonly o: ProvisionRecoveryOptions & { now: () => Date };

  constructor(options: ProvisionRecoveryOptions) {
    this.o = { now: () => new Date(), ...options };
  }

  async run(options: { reclaimOwn?: boolean } = {}): Promise<Recovered[]> {
    const { store, fly, owner, logger } = this.o;
    const claimed = await store.claimProvisionings(owner, {
      leaseS: 60,
      ...(options.reclaimOwn ? { reclaimOwn: true } : {}),
    });
    if (claimed.length === 0) return [];
    const appOf = (p: ClaimedProvisioning) => p.fly_app ?? p.row.fly_app ?? this.o.defaultApp;
    const lists = new Map<string, Machine[] | Error>();
    await Promise.all(
      [...new Set(claimed.map(appOf))].map(async (app) => {
        lists.set(app, await fly.list(app, { includeDeleted: true }).catch((err: Error) => err));
      }),
    );
    const out: Recovered[] = [];
    for (const p of claimed) {
      const machines = lists.get(appOf(p));
      try {
        out.push(
          machines instanceof Error || machines === undefined
            ? await this.defer(p, machines)
            : await this.resolve(p, appOf(p), machines),
        );
      } catch (err) {
        // Left claimed: the lease runs out and a later tick tries again.
        logger.error({ err: errorLine(err), machineId: p.machine_id }, 'could not recover a provisioning');
      }
    }
    logger.info({ recovered: out }, 'unfinished provisionings resolved');
    return out;
  }

  private async defer(p: ClaimedProvisioning, err: Error | undefined): Promise<Recovered> {
    await this.o.store.provisionStep(p.machine_id, this.o.owner, p.step, {
      leaseS: 0,
      detail: `recovery could not list Fly: ${errorLine(err)}`,
    });
    return { machineId: p.machine_id, outcome: 'deferred', step: p.step, told: false };
  }

  private async resolve(p: ClaimedProvisioning, app: string, machines: Machine[]): Promise<Recovered> {
    const { store, fly, owner } = this.o;
    const row = p.row;
    const found = ownMachineOf(row, machines, p.create_key);
    const live = found && found.machine.state !== 'destroyed' ? found : null;
    const base = { machineId: p.machine_id, step: p.step, ...(found ? { by: found.by } : {}) };

    if (row.status === 'failed' || row.status === 'destroyed') {
      // The row ended while its provisioning was cut short: a machine still up for it is waste.
      if (live) {
        const r = await destroyUnderLease(fly, this.o.logger, {
          app,
          flyId: live.machine.id,
          description: `vyxbot recovery cleanup of ${row.machine_id} on ${owner}`,
        });
        if ('held' in r) return this.leaseHeld(p, app, live.machine.id, r.held);
      }
      await store.provisionStep(p.machine_id, owner, 'failed', { detail: `row already ${row.status}` });
      const told = live
        ? await this.tell(
            p,
            `vyxbot found Fly machine \`${live.machine.id}\` still up for machine \`${row.machine_id}\`, which is ${row.status}, and destroyed it.`,
          )
        : false;
      return { ...base, outcome: 'closed', ...(live ? { flyMachineId: live.machine.id } : {}), told };
    }

    if (live) {
      if (!row.fly_machine_id) await store.attachFlyMachine(row.machine_id, live.machine.id, app);
      await store.provisionStep(p.machine_id, owner, 'done', { flyMachineId: live.machine.id });
      const how = describeMatch({
        row,
        machine: live.machine,
        matchedBy: live.by,
        now: this.o.now(),
        stuckAfterS: this.o.stuckAfterS,
      });
      const told = await this.tell(
        p,
        `${this.why(p)} I found its Fly machine \`${live.machine.id}\` (by ${how}), *${live.machine.state}*, and linked it to \`${row.machine_id}\`. Its status follows here.`,
      );
      return { ...base, outcome: 'linked', flyMachineId: live.machine.id, told };
    }

    const d = this.diagnosis(p, found);
    await store.recordDiagnosis({
      machineId: row.machine_id,
      code: d.code,
      summary: d.summary,
      evidence: d.evidence,
      fix: d.fix,
      certainty: d.certainty,
      // The bot's own provisioning did not finish: the row is failed whatever the certainty.
      markFailed: true,
    });
    const after = await store.getMachine(row.machine_id);
    if (after.status === 'starting') await store.reportStatus(row.machine_id, 'failed', d.code);
    await store.provisionStep(p.machine_id, owner, 'failed', { detail: d.code });
    const told = await this.tell(
      p,
      `:x: ${this.why(p)} ${found ? `Its Fly machine \`${found.machine.id}\` is destroyed` : 'Fly never made its machine'}, so I marked \`${row.machine_id}\` failed (${d.code}); nothing is left running. Run \`/vyx start\` again.`,
    );
    return {
      ...base,
      outcome: 'failed',
      code: d.code,
      ...(found ? { flyMachineId: found.machine.id } : {}),
      told,
    };
  }

  /**
   * The leftover's lease is someone else's (a person with flyctl, another replica): nothing is
   * destroyed behind their back. Due again at once, so the next tick tries; after
   * MAX_CLEANUP_TAKEOVERS claims it is given up and the user told what to destroy by hand.
   */
  private async leaseHeld(
    p: ClaimedProvisioning,
    app: string,
    flyMachineId: string,
    holder: string,
  ): Promise<Recovered> {
    const { store, owner, logger } = this.o;
    const base = { machineId: p.machine_id, step: p.step, flyMachineId, holder };
    const detail = `cleanup of ${flyMachineId}: lease held by ${holder}`;
    if (p.takeovers < MAX_CLEANUP_TAKEOVERS) {
      logger.warn(
        { machineId: p.machine_id, flyMachineId, holder, takeovers: p.takeovers },
        `${detail}; next tick tries again`,
      );
      await store.provisionStep(p.machine_id, owner, p.step, { leaseS: 0, detail });
      return { ...base, outcome: 'deferred', told: false };
    }
    logger.error(
      { machineId: p.machine_id, flyMachineId, holder, takeovers: p.takeovers },
      `${detail}; given up`,
    );
    await store.provisionStep(p.machine_id, owner, 'failed', { detail: `${detail}; given up` });
    const told = await this.tell(
      p,
      `:warning: Fly machine \`${flyMachineId}\` is still up for machine \`${p.machine_id}\`, which is ${p.row.status}, but its Fly lease is held by ${holder}, so vyxbot did not destroy it (${p.takeovers} tries). When that change is done, destroy it: \`fly machine destroy ${flyMachineId} -a ${app} --force\`.`,
    );
    return { ...base, outcome: 'abandoned', told };
  }

  /** The diagnosis of a provisioning whose machine is missing or destroyed, with what recovery saw. */
  private diagnosis(p: ClaimedProvisioning, found: MachineFound | null): Diagnosis {
    const now = this.o.now();
    const d = diagnose({
      row: p.row,
      machine: found?.machine ?? null,
      ...(found ? { matchedBy: found.by } : {}),
      now,
      stuckAfterS: this.o.stuckAfterS,
    });
    const at = now.toISOString();
    const extra: Evidence[] = [
      {
        fact: 'provisioning',
        value: `cut short at step "${p.step}"${p.detail ? ` (${p.detail})` : ''}, create key ${p.create_key}`,
        source: 'database',
        at,
      },
      {
        fact: 'create key on Fly',
        value: found
          ? `machine ${found.machine.id} (${found.machine.state})`
          : `no machine in ${p.fly_app ?? p.row.fly_app ?? this.o.defaultApp} carries vyx_create_key=${p.create_key}`,
        source: 'fly',
        at,
      },
    ];
    return { ...d, evidence: [...d.evidence, ...extra] };
  }

  private why(p: ClaimedProvisioning): string {
    // The provisioner handed it over with the reason when the create's answer was lost.
    return p.step === 'creating' && p.detail
      ? `Fly’s answer to the create was lost (${p.detail}).`
      : `vyxbot stopped while it was starting machine \`${p.machine_id}\`.`;
  }

  /** Says what happened where the user asked: the machine's thread, else its channel. */
  private async tell(p: ClaimedProvisioning, text: string): Promise<boolean> {
    const row = p.row;
    if (!row.slack_channel) return false;
    const who = row.requested_by ? `<@${row.requested_by}> ` : '';
    try {
      await this.o.slack.post({
        channel: row.slack_channel,
        ...(row.slack_thread_ts ? { threadTs: row.slack_thread_ts } : {}),
        text: `${who}${text}`,
      });
      return true;
    } catch (err) {
      this.o.logger.warn({ err: errorLine(err), machineId: row.machine_id }, 'could not tell the user');
      return false;
    }
  }
}
