/**
 * Zod schemas and types for the Fly Machines API responses vyxbot reads.
 *
 * The live API sends `null` or `""` for unset optional fields that the spec types as object, array
 * or enum (see shared/reference/fly-machine-example-get-with-exit-event.json: `"env": null`,
 * `"restart": {"policy": ""}`), so every optional field here accepts null/"" and reads it as unset.
 * Unknown fields are kept (loose objects): Fly adds fields over time.
 */
import { z } from 'zod';

/** An optional string; `null` and `""` read as unset. */
const optionalString = z
  .string()
  .nullish()
  .transform((value) => (value === null || value === '' ? undefined : value));

const optionalNumber = z
  .number()
  .nullish()
  .transform((value) => (value === null ? undefined : value));

const optionalBoolean = z
  .boolean()
  .nullish()
  .transform((value) => (value === null ? undefined : value));

/** A string map; `null` reads as empty. Non-string values are kept as their JSON text. */
const stringMap = z
  .record(z.string(), z.unknown())
  .nullish()
  .transform((value) => {
    const out: Record<string, string> = {};
    for (const [key, entry] of Object.entries(value ?? {})) {
      if (entry === null || entry === undefined) continue;
      out[key] = typeof entry === 'string' ? entry : JSON.stringify(entry);
    }
    return out;
  });

export const RestartPolicySchema = z.enum(['no', 'always', 'on-failure', 'spot-price']);
export type RestartPolicy = z.infer<typeof RestartPolicySchema>;

export const MachineRestartSchema = z.looseObject({
  // A YAML 1.1 reader turns `no` into `false`; accept that and read it back as the string.
  policy: z
    .union([RestartPolicySchema, z.literal(''), z.literal(false), z.null()])
    .optional()
    .transform((value) => (value === false ? 'no' : value === '' || value === null ? undefined : value)),
  max_retries: optionalNumber,
});

export const MachineGuestSchema = z.looseObject({
  cpu_kind: optionalString,
  cpus: optionalNumber,
  memory_mb: optionalNumber,
});

export const MachineConfigSchema = z.looseObject({
  image: z.string(),
  env: stringMap,
  metadata: stringMap,
  auto_destroy: optionalBoolean,
  restart: MachineRestartSchema.nullish().transform((value) => value ?? undefined),
  guest: MachineGuestSchema.nullish().transform((value) => value ?? undefined),
  init: z
    .looseObject({
      exec: z.array(z.string()).nullish(),
      entrypoint: z.array(z.string()).nullish(),
      cmd: z.array(z.string()).nullish(),
    })
    .nullish()
    .transform((value) => value ?? undefined),
});
export type MachineConfig = z.infer<typeof MachineConfigSchema>;

export const ImageRefSchema = z.looseObject({
  registry: optionalString,
  repository: optionalString,
  tag: optionalString,
  digest: optionalString,
  labels: stringMap,
});
export type FlyImageRef = z.infer<typeof ImageRefSchema>;

/** `request.exit_event` of an `exit` event (fly-go `MachineExitEvent`). */
export const ExitEventSchema = z.looseObject({
  exit_code: z.number().nullish(),
  guest_exit_code: z.number().nullish(),
  guest_signal: z.number().nullish(),
  oom_killed: z.boolean().nullish(),
  requested_stop: z.boolean().nullish(),
  restarting: z.boolean().nullish(),
  signal: z.number().nullish(),
  exited_at: z.union([z.number(), z.string()]).nullish(),
});
export type ExitEvent = z.infer<typeof ExitEventSchema>;

export const MachineEventSchema = z.looseObject({
  id: optionalString,
  type: z.string(),
  status: z.string(),
  source: optionalString,
  timestamp: z.number(),
  request: z
    .record(z.string(), z.unknown())
    .nullish()
    .transform((value) => value ?? undefined),
});
export type MachineEvent = z.infer<typeof MachineEventSchema>;

export const CheckStatusSchema = z.looseObject({
  name: optionalString,
  status: optionalString,
  output: optionalString,
  updated_at: optionalString,
});

export const MachineSchema = z.looseObject({
  id: z.string(),
  name: optionalString,
  state: z.string(),
  region: optionalString,
  instance_id: optionalString,
  version: optionalString,
  private_ip: optionalString,
  config: MachineConfigSchema.nullish().transform((value) => value ?? undefined),
  incomplete_config: MachineConfigSchema.nullish().transform((value) => value ?? undefined),
  image_ref: ImageRefSchema.nullish().transform((value) => value ?? undefined),
  events: z
    .array(MachineEventSchema)
    .nullish()
    .transform((value) => value ?? []),
  checks: z
    .array(CheckStatusSchema)
    .nullish()
    .transform((value) => value ?? []),
  created_at: optionalString,
  updated_at: optionalString,
  host_status: optionalString,
  nonce: optionalString,
});
export type Machine = z.infer<typeof MachineSchema>;

export const WaitResponseSchema = z.looseObject({
  ok: optionalBoolean,
  state: optionalString,
  version: optionalString,
  event_id: optionalString,
});

export const StartResponseSchema = z.looseObject({
  previous_state: optionalString,
  migrated: optionalBoolean,
  new_host: optionalString,
});
export type StartResult = z.infer<typeof StartResponseSchema>;

/** App secrets: the 2026 API answers `{secrets:[{name,…}]}`, the 2025 one `[{label,type}]`. */
export const SecretListSchema = z.union([
  z.looseObject({
    secrets: z
      .array(z.looseObject({ name: z.string() }))
      .nullish()
      .transform((value) => value ?? []),
  }),
  z.array(z.looseObject({ label: z.string() })),
]);

/** `GET /v1/platform/regions` (`main.regionResponse`): the codes, and which are deprecated. */
export const RegionListSchema = z.looseObject({
  nearest: z.string().nullish(),
  regions: z.array(
    z.looseObject({
      code: z.string(),
      name: z.string().nullish(),
      deprecated: z.boolean().nullish(),
    }),
  ),
});

/** Fly's error body (`ErrorResponse`); fly-go falls back to `message`. */
export const ErrorBodySchema = z.looseObject({
  error: z.string().nullish(),
  message: z.string().nullish(),
  status: z.string().nullish(),
});

/** What vyxbot sends on create. Only `config.image` is required by Fly. */
export interface CreateMachineInput {
  name?: string;
  region?: string;
  skip_launch?: boolean;
  config: {
    image: string;
    env?: Record<string, string>;
    metadata?: Record<string, string>;
    auto_destroy?: boolean;
    restart?: { policy?: RestartPolicy; max_retries?: number };
    guest?: { cpu_kind?: string; cpus?: number; memory_mb?: number };
    init?: { exec?: string[]; entrypoint?: string[]; cmd?: string[] };
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** The newest `exit` event's exit data, if any (events are newest first). */
export function latestExit(
  machine: Pick<Machine, 'events'>,
): { exitEvent: ExitEvent; restartCount: number | undefined; timestamp: number } | undefined {
  for (const event of machine.events) {
    if (event.type !== 'exit' || event.request === undefined) continue;
    const request = event.request;
    const source = (request.exit_event ?? (request.MonitorEvent as { exit_event?: unknown })?.exit_event) as
      | unknown
      | undefined;
    const parsed = ExitEventSchema.safeParse(source);
    if (!parsed.success) continue;
    const restartCount = typeof request.restart_count === 'number' ? request.restart_count : undefined;
    return { exitEvent: parsed.data, restartCount, timestamp: event.timestamp };
  }
  return undefined;
}
