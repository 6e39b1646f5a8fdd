import { buildMachineEnv, type MachineEnvInput } from '../../../src/contract/build-machine-env.ts';
import { checkMachineEnvNames, describeMachineEnvProblem } from '../../../src/contract/machine-env.ts';
import { METADATA_CREATE_KEY, machineMetadata } from '../../../src/contract/machine-metadata.ts';
import type { Diagnosis } from '../../../src/diagnose/diagnosis.ts';
import { preflightImage } from '../../../src/diagnose/preflight-image.ts';
import { isVyxError, VyxError } from '../../../src/errors/vyx-error.ts';
import type { CloudMachine } from '../../../src/store/store-schemas.ts';
import type { FlyApi } from './fly-api.ts';
import { checkImage } from './registry-check.ts';
import { MACHINE_SECRET_PREFIX, type Settings } from './settings.ts';
import type { SupabaseApi } from './supabase-api.ts';

/** Who holds the progress record of a start made here (the bot's recovery takes over when it lapses). */
export const EDGE_OWNER = 'edge:provision-machine';

export interface ProvisionDeps {
  settings: Settings;
  store: SupabaseApi;
  fly: FlyApi;
  fetch: typeof fetch;
  now: () => Date;
}

export type ProvisionOutcome =
  | { kind: 'existing'; machine: CloudMachine }
  | { kind: 'refused'; diagnosis: Diagnosis }
  | { kind: 'started'; machine: CloudMachine; warning?: string }
  /** The machine was made but did not start: the watcher diagnoses it (alert channel) from here. */
  | { kind: 'failed'; machine: CloudMachine; code: string; summary: string; fix: string };

/**
 * What `/vyx start` does, for the web UI: the user's active machine if there is one; preflight (every
 * contract variable has a value, the image tag exists); the row and its progress record through the
 * bot's SQL function; the machine named after the row, `config.env` built by the shared contract
 * (MACHINE_ID always), vyxbot's metadata; the wait for `started`. A failure after the row exists is
 * left where the bot's own machinery finds it: a create that failed hands its progress record to the
 * bot's recovery (lease 0), a machine that did not start stays `starting` for the watcher to
 * diagnose and alert on.
 */
export async function provisionMachine(
  deps: ProvisionDeps,
  req: { userId: string; region?: string; cpuPriority?: string },
): Promise<ProvisionOutcome> {
  const { settings, store, fly, now } = deps;
  const active = await store.getActiveMachine(req.userId);
  if (active) return { kind: 'existing', machine: active };

  const envInput = (machineId: string): MachineEnvInput => ({
    machineId,
    userId: req.userId,
    supabaseUrl: settings.machine.supabaseUrl,
    ...(settings.machine.supabaseServiceKey
      ? { supabaseServiceKey: settings.machine.supabaseServiceKey }
      : {}),
    ...(settings.machine.geminiApiKey ? { geminiApiKey: settings.machine.geminiApiKey } : {}),
    ...(req.cpuPriority ? { cpuPriority: req.cpuPriority } : {}),
  });
  const envRefusal = preflightEnv(settings, envInput('vyx-00000000'), now());
  if (envRefusal) return { kind: 'refused', diagnosis: envRefusal };

  const image = await checkImage(settings.image, settings.registry, settings.flyToken, deps.fetch);
  const verdict = preflightImage(image, settings.preflightUnverified, now());
  if (verdict.kind === 'refuse') return { kind: 'refused', diagnosis: verdict.diagnosis };
  const warning = verdict.kind === 'warn' ? verdict.warning : undefined;

  const region = req.region ?? settings.flyRegion;
  const createKey = crypto.randomUUID().replaceAll('-', '').slice(0, 24);
  const leaseS = Math.ceil(settings.startTimeoutMs / 1000) + 60;
  const begun = await store.beginTrackedProvision({
    userId: req.userId,
    flyApp: settings.flyApp,
    region,
    image: image.imageRef,
    createKey,
    owner: EDGE_OWNER,
    leaseS,
  });
  if (!begun.created) return { kind: 'existing', machine: begun.machine };
  const id = begun.machine.machine_id;
  const step = async (
    s: Parameters<SupabaseApi['provisionStep']>[2],
    more: { flyMachineId?: string; detail?: string; leaseS?: number } = {},
  ) => {
    if (!(await store.provisionStep(id, EDGE_OWNER, s, { leaseS, ...more }))) {
      throw new VyxError('PROVISION_TAKEN_OVER', `the start of ${id} was taken over by vyxbot's recovery`, {
        suggestion: 'Nothing to do: vyxbot links the machine or fails the row and says why.',
      });
    }
  };

  await step('creating');
  let flyMachineId: string;
  try {
    const made = await fly.create({
      name: id,
      region,
      config: {
        image: image.imageRef,
        env: buildMachineEnv(envInput(id)),
        metadata: { ...machineMetadata(id, req.userId), [METADATA_CREATE_KEY]: createKey },
        // Keep a failed machine (and its exit events) for the diagnosis instead of auto-destroying it.
        auto_destroy: false,
        restart: { policy: 'no' },
      },
    });
    flyMachineId = made.id;
  } catch (err) {
    // Fly may or may not have made it: the bot's recovery looks by the create key and links it or
    // fails the row, now rather than when the lease would have run out.
    await store
      .provisionStep(id, EDGE_OWNER, 'creating', {
        leaseS: 0,
        detail: isVyxError(err) ? err.code : 'create failed',
      })
      .catch(() => {});
    throw err;
  }
  await step('created', { flyMachineId });
  const attached = await store.attachFlyMachine(id, flyMachineId, settings.flyApp);
  await step('waiting');
  const reached = await fly.waitStarted(flyMachineId, settings.startTimeoutMs);
  if (reached === 'started') {
    await step('done');
    return {
      kind: 'started',
      machine: await store.getMachine(id).catch(() => attached),
      ...(warning ? { warning } : {}),
    };
  }
  await step('failed', { detail: reached === 'timeout' ? 'FLY_TIMEOUT' : 'FLY_NOT_STARTED' });
  const machine = await store.getMachine(id).catch(() => attached);
  return reached === 'timeout'
    ? {
        kind: 'failed',
        machine,
        code: 'FLY_TIMEOUT',
        summary: `Fly machine ${flyMachineId} did not reach started within ${settings.startTimeoutMs / 1000} s.`,
        fix: 'vyxbot’s watcher checks it and posts the diagnosis in the alert channel; /vyx diagnose in Slack shows it.',
      }
    : {
        kind: 'failed',
        machine,
        code: 'FLY_NOT_STARTED',
        summary: `Fly machine ${flyMachineId} stopped or failed instead of starting.`,
        fix: 'vyxbot’s watcher diagnoses it (it is kept for that) and posts why in the alert channel; /vyx diagnose in Slack shows it.',
      };
}

/**
 * Every contract variable must have a value (names only), and every value must be valid: refused
 * before anything is created, naming the secret to set (a known wrong name set instead is named too).
 */
function preflightEnv(settings: Settings, input: MachineEnvInput, now: Date): Diagnosis | null {
  const at = now.toISOString();
  const names = [
    'MACHINE_ID',
    'USER_ID',
    ...(input.supabaseUrl.trim() !== '' ? ['SUPABASE_URL'] : []),
    ...(input.supabaseServiceKey ? ['SUPABASE_SERVICE_KEY'] : []),
    // What the operator set under MACHINE_* (a misnamed secret shows up here as its alias).
    ...settings.machineSecretNames,
  ];
  const missing = checkMachineEnvNames(names);
  if (missing.length > 0) {
    return {
      code: 'ENV_MISMATCH',
      summary: `A machine started now would not get every variable it needs (${missing.map((p) => p.name).join(', ')}), so I did not create it.`,
      evidence: missing.map((p) => ({
        fact: 'env contract',
        value: describeMachineEnvProblem(p),
        source: 'watcher',
        at,
      })),
      fix: missing
        .map((p) =>
          p.aliasFound === undefined
            ? `supabase secrets set ${MACHINE_SECRET_PREFIX}${p.name}=…`
            : `supabase secrets set ${MACHINE_SECRET_PREFIX}${p.name}=… and supabase secrets unset ${MACHINE_SECRET_PREFIX}${p.aliasFound}`,
        )
        .join('; ')
        .concat(', then start again.'),
      certainty: 'certain',
    };
  }
  try {
    buildMachineEnv(input);
    return null;
  } catch (err) {
    if (!isVyxError(err, 'ENV_INVALID')) throw err;
    return {
      code: 'ENV_MISMATCH',
      summary: `A machine started now could not use its environment (${err.message}), so I did not create it.`,
      evidence: [{ fact: 'env contract', value: err.message, source: 'watcher', at }],
      fix: `${err.suggestion} The values come from the function's MACHINE_* secrets and the request.`,
      certainty: 'certain',
    };
  }
}
