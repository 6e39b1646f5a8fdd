import { buildMachineEnv, checkMachineEnvNames, describeMachineEnvProblem } from '../contract/machine-env.ts';
import { machineMetadata } from '../contract/machine-metadata.ts';
import { diagnose } from '../diagnose/diagnose.ts';
import type { Diagnosis } from '../diagnose/diagnosis.ts';
import { registryAnswer } from '../diagnose/evidence.ts';
import { isVyxError, VyxError } from '../errors/vyx-error.ts';
import type { FlyMachinesClient } from '../fly/machines-client.ts';
import type { RegistryClient } from '../fly/registry-client.ts';
import type { Logger } from '../logger.ts';
import { statusCard } from '../slack/cards/status-card.ts';
import type { SlackPoster } from '../slack/slack-poster.ts';
import type { CloudMachine } from '../store/store-schemas.ts';
import type { VyxStore } from '../store/vyx-store.ts';
import { gatherEvidence } from '../watchers/gather-evidence.ts';
import { resolveImage } from './resolve-image.ts';

export interface ProvisionConfig {
  flyApp: string;
  defaultRegion: string;
  /** e.g. `registry.fly.io/vyx-app:latest`. */
  defaultImage: string;
  /** What machines get as SUPABASE_URL and SUPABASE_SERVICE_KEY. */
  machineSupabaseUrl: string;
  machineSupabaseServiceKey: string | undefined;
  /** Optional contract variables passed through (GEMINI_API_KEY, CPU_PRIORITY, …). */
  machineEnvExtra?: { geminiApiKey?: string; cpuPriority?: string; heartbeatIntervalS?: number };
  /** How long to wait for Fly to say `started`. */
  startTimeoutMs: number;
  /** Watcher threshold, for diagnoses made here. */
  stuckAfterS: number;
}

export interface ProvisionDeps {
  store: VyxStore;
  fly: FlyMachinesClient;
  registry: RegistryClient;
  slack: SlackPoster;
  logger: Logger;
  now: () => Date;
  config: ProvisionConfig;
}

export interface ProvisionRequest {
  userId: string;
  slackTeamId: string;
  slackUserId: string;
  channel: string;
  region?: string;
  image?: string;
  requestId?: string;
  /** Called once the machine is really being made (past the existing-machine check and preflight). */
  onAccepted?: (machineId: string) => Promise<void>;
  /** The parent message could not be posted (the person is told privately what to do). */
  onThreadFailed?: (err: unknown) => Promise<void>;
}

export type ProvisionOutcome =
  | { kind: 'existing'; machine: CloudMachine }
  | { kind: 'refused'; diagnosis: Diagnosis; image: string }
  | { kind: 'started'; machine: CloudMachine }
  | { kind: 'failed'; machine: CloudMachine; diagnosis: Diagnosis };

/**
 * Provisioning as DESIGN §4: preflight (the tag exists; every contract variable has a value) refuses
 * a doomed machine before anything is created; then the row, the parent message and its thread,
 * the Fly machine (config.env from the contract, metadata naming the row), the wait for `started`.
 * The runtime's `running` reaches the thread through the outbox. Any failure leaves a diagnosis in
 * the thread and the row `failed`: no row is left `starting` by the bot.
 */
export class Provisioner {
  private readonly deps: ProvisionDeps;
  private inFlight = 0;

  constructor(deps: ProvisionDeps) {
    this.deps = deps;
  }

  /** Provisions in progress (the local shell waits for none before it exits). */
  busy(): boolean {
    return this.inFlight > 0;
  }

  async start(req: ProvisionRequest): Promise<ProvisionOutcome> {
    this.inFlight++;
    try {
      return await this.run(req);
    } finally {
      this.inFlight--;
    }
  }

  /** The checks that refuse a machine that could not start. Null when it may go ahead. */
  async preflight(image: string, userId: string): Promise<Diagnosis | null> {
    const { registry, config, now } = this.deps;
    const at = now().toISOString();
    const problems = checkMachineEnvNames(
      Object.entries({
        MACHINE_ID: 'pending',
        USER_ID: userId,
        SUPABASE_URL: config.machineSupabaseUrl,
        SUPABASE_SERVICE_KEY: config.machineSupabaseServiceKey ?? '',
      })
        .filter(([, v]) => v.trim() !== '')
        .map(([k]) => k),
    );
    if (problems.length > 0) {
      return {
        code: 'ENV_MISMATCH',
        summary: 'A machine started now would not get every variable it needs, so I did not create it.',
        evidence: problems.map((p) => ({
          fact: 'env contract',
          value: describeMachineEnvProblem(p),
          source: 'watcher',
          at,
        })),
        fix: 'Set the bot’s MACHINE_SUPABASE_SERVICE_KEY (or SUPABASE_SERVICE_KEY) so machines can report their status, then /vyx start again.',
        certainty: 'certain',
      };
    }
    const check = await registry.checkImage(image);
    if (check.status === 'missing') {
      return {
        code: 'IMAGE_TAG_MISSING',
        summary: `The image ${image} does not exist in the registry, so I did not create a machine that could not start.`,
        evidence: [
          { fact: 'image', value: image, source: 'registry', at },
          {
            fact: 'registry answer',
            value: registryAnswer(check),
            source: 'registry',
            at,
          },
        ],
        fix: 'Push that tag (or pick one that exists with --image), then /vyx start again.',
        certainty: 'certain',
      };
    }
    if (check.status === 'unknown') {
      // A 401 or an outage never means "missing": go ahead, and say so.
      this.deps.logger.warn(
        { image, reason: check.reason },
        'registry could not confirm the image; provisioning anyway',
      );
    }
    return null;
  }

  private async run(req: ProvisionRequest): Promise<ProvisionOutcome> {
    const { store, fly, slack, config, logger, now } = this.deps;
    const image = resolveImage(req.image, config.defaultImage);
    const region = req.region ?? config.defaultRegion;
    const log = logger.child({ requestId: req.requestId, userId: req.userId });

    const active = await store.getActiveMachine(req.userId);
    if (active) return { kind: 'existing', machine: active };
    const refused = await this.preflight(image, req.userId);
    if (refused) {
      log.info({ code: refused.code, image }, 'provision refused at preflight');
      return { kind: 'refused', diagnosis: refused, image };
    }

    const begun = await store.beginProvision({
      userId: req.userId,
      flyApp: config.flyApp,
      region,
      image,
      slackTeamId: req.slackTeamId,
      slackChannel: req.channel,
      requestedBy: req.slackUserId,
    });
    if (!begun.created) return { kind: 'existing', machine: begun.machine };
    let machine = begun.machine;
    const id = machine.machine_id;
    await req.onAccepted?.(id).catch(() => {});
    log.info({ machineId: id, image, region }, 'provisioning');

    // The parent message anchors the thread (a response_url gives no ts; ephemerals cannot thread).
    let thread: { channel: string; ts: string } | undefined;
    try {
      const card = statusCard(machine, now(), { title: `Machine ${id} for <@${req.slackUserId}>` });
      thread = await slack.post({ channel: req.channel, text: card.text, blocks: card.blocks });
      machine = await store.setSlackThread(id, thread.channel, thread.ts);
    } catch (err) {
      log.error(
        { err: errInfo(err), machineId: id },
        'could not post the parent message; continuing without a thread',
      );
      await req.onThreadFailed?.(err).catch(() => {});
    }
    const reply = async (text: string) => {
      if (!thread) return;
      await slack.post({ channel: thread.channel, threadTs: thread.ts, text }).catch((err: unknown) => {
        log.warn({ err: errInfo(err), machineId: id }, 'thread reply failed');
      });
    };

    let flyMachineId: string | undefined;
    try {
      const env = buildMachineEnv({
        machineId: id,
        userId: req.userId,
        supabaseUrl: config.machineSupabaseUrl,
        supabaseServiceKey: config.machineSupabaseServiceKey ?? '',
        ...config.machineEnvExtra,
      });
      const created = await fly.create(config.flyApp, {
        name: id,
        region,
        config: {
          image,
          env,
          metadata: machineMetadata(id, req.userId),
          // Keep a failed machine (and its exit events) for the diagnosis instead of auto-destroying it.
          auto_destroy: false,
          restart: { policy: 'no' },
        },
      });
      flyMachineId = created.id;
      try {
        machine = await store.attachFlyMachine(id, created.id, config.flyApp);
      } catch (err) {
        // A machine no row points at is an orphan: take it back down rather than leave it running.
        await fly.destroy(config.flyApp, created.id, { force: true }).catch(() => {});
        throw err;
      }
      await reply(`Fly machine \`${created.id}\` created in ${region} from \`${image}\`; booting…`);
      const waited = await fly.wait(config.flyApp, created.id, {
        state: 'started',
        timeoutMs: config.startTimeoutMs,
      });
      if (waited.state !== 'started') {
        throw new VyxError(
          'FLY_NOT_STARTED',
          `Fly machine ${created.id} ended ${waited.state} instead of started`,
          {
            suggestion: 'See the diagnosis in the thread.',
          },
        );
      }
      await reply('Fly says the machine started; waiting for its runtime to report `running`…');
      return { kind: 'started', machine };
    } catch (err) {
      log.warn({ err: errInfo(err), machineId: id, flyMachineId }, 'provisioning failed');
      const diagnosis = await this.diagnoseFailure(machine, err);
      return { kind: 'failed', machine: await store.getMachine(id).catch(() => machine), diagnosis };
    }
  }

  /** Diagnoses a machine whose provisioning failed, records it (the outbox posts it) and marks the row failed. */
  private async diagnoseFailure(machine: CloudMachine, err: unknown): Promise<Diagnosis> {
    const { store, fly, registry, config, now, logger } = this.deps;
    let diagnosis: Diagnosis;
    try {
      const row = await store.getMachine(machine.machine_id);
      const gathered = await gatherEvidence(
        [row],
        { fly, registry, defaultApp: config.flyApp },
        { now: now(), stuckAfterS: config.stuckAfterS },
      );
      diagnosis = diagnose(gathered.inputs[0]!);
    } catch (gatherErr) {
      logger.warn({ err: errInfo(gatherErr) }, 'could not gather evidence for a failed provision');
      diagnosis = {
        code: 'UNKNOWN',
        summary: 'Provisioning failed and I could not gather more evidence.',
        evidence: [],
        fix: 'Try /vyx start again; if it fails again, read the bot’s log.',
        certainty: 'possible',
      };
    }
    const at = now().toISOString();
    diagnosis.evidence.push({
      fact: 'provisioning error',
      value: isVyxError(err) ? `${err.code}: ${err.message}` : String((err as Error)?.message ?? err),
      source: 'watcher',
      at,
    });
    try {
      await store.recordDiagnosis({
        machineId: machine.machine_id,
        code: diagnosis.code,
        summary: diagnosis.summary,
        evidence: diagnosis.evidence,
        fix: diagnosis.fix,
        certainty: diagnosis.certainty,
        markFailed: true,
      });
      // The bot's own step failed: the row is failed whatever the certainty.
      const row = await store.getMachine(machine.machine_id);
      if (row.status === 'starting') await store.reportStatus(machine.machine_id, 'failed', diagnosis.code);
    } catch (storeErr) {
      logger.error(
        { err: errInfo(storeErr), machineId: machine.machine_id },
        'could not record the failed provision',
      );
    }
    return diagnosis;
  }
}

function errInfo(err: unknown): Record<string, unknown> {
  return isVyxError(err)
    ? { code: err.code, message: err.message }
    : { message: String((err as Error)?.message ?? err) };
}
