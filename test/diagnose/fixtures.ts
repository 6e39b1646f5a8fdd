import { readFileSync } from 'node:fs';
import type { DiagnosisInput } from '../../src/diagnose/diagnosis.ts';
import { type Machine, MachineSchema } from '../../src/fly/fly-types.ts';
import type { ImageCheck } from '../../src/fly/registry-client.ts';

// Fixtures shaped as Fly's API answers them, parsed by the client's own schema.

export const NOW = new Date('2026-11-23T12:00:00.000Z');
const t = (secondsAgo: number) => NOW.getTime() - secondsAgo * 1000;
export const iso = (secondsAgo: number) => new Date(t(secondsAgo)).toISOString();

export const SECRET_VALUE = 'eyJhbGciOiJIUzI1NiJ9.super-secret-service-key';
export const IMAGE = 'registry.fly.io/vyx-app:latest';

export const GOOD_ENV = {
  MACHINE_ID: 'vyx-63eea370',
  USER_ID: 'user-1',
  SUPABASE_URL: 'https://abc.supabase.co',
  SUPABASE_SERVICE_KEY: SECRET_VALUE,
};

/** The recorded example from the Fly docs: a stopped machine whose process exited 127. */
export function recordedExitExample(): Machine {
  const path = new URL('../fixtures/fly/fly-machine-example-get-with-exit-event.json', import.meta.url);
  return MachineSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
}

export const events = {
  launch: (ago: number) => ({ type: 'launch', status: 'created', source: 'user', timestamp: t(ago) }),
  start: (ago: number) => ({ type: 'start', status: 'started', source: 'flyd', timestamp: t(ago) }),
  exit: (ago: number, exitCode: number, extra: Record<string, unknown> = {}) => ({
    type: 'exit',
    status: 'stopped',
    source: 'flyd',
    timestamp: t(ago),
    request: {
      exit_event: {
        exit_code: exitCode,
        oom_killed: false,
        requested_stop: false,
        restarting: false,
        ...extra,
      },
      restart_count: 0,
    },
  }),
  destroy: (ago: number) => ({ type: 'destroy', status: 'destroyed', source: 'flyd', timestamp: t(ago) }),
};

export function machine(
  overrides: {
    state?: string;
    env?: Record<string, string> | null;
    events?: unknown[];
    image?: string;
    auto_destroy?: boolean;
    metadata?: Record<string, string>;
    memory_mb?: number;
    created_ago?: number;
    host_status?: string;
  } = {},
): Machine {
  return MachineSchema.parse({
    id: '3d8d9e1bc42d89',
    name: 'vyx-63eea370',
    state: overrides.state ?? 'started',
    region: 'ams',
    instance_id: '01J0000000000000000000000',
    private_ip: 'fdaa:0:1:a7b:1:2:3:4',
    config: {
      image: overrides.image ?? IMAGE,
      env: overrides.env === undefined ? GOOD_ENV : overrides.env,
      metadata: overrides.metadata ?? { vyx_machine_id: 'vyx-63eea370' },
      auto_destroy: overrides.auto_destroy ?? true,
      restart: { policy: 'no' },
      guest: { cpu_kind: 'shared', cpus: 1, memory_mb: overrides.memory_mb ?? 256 },
    },
    image_ref: {
      registry: 'registry.fly.io',
      repository: 'vyx-app',
      tag: 'latest',
      digest: '',
      labels: null,
    },
    events: overrides.events ?? [events.start(100), events.launch(102)],
    ...(overrides.host_status ? { host_status: overrides.host_status } : {}),
    created_at: iso(overrides.created_ago ?? 102),
    updated_at: iso(100),
  });
}

export const imageExists: ImageCheck = { status: 'exists', digest: 'sha256:abc', imageRef: IMAGE };
export const imageMissing = (ref = 'registry.fly.io/vyx-app:stub'): ImageCheck => ({
  status: 'missing',
  reason: 'manifest unknown',
  imageRef: ref,
  httpStatus: 404,
  errorCode: 'MANIFEST_UNKNOWN',
});
export const imageUnknown: ImageCheck = {
  status: 'unknown',
  reason: 'registry answered 401',
  imageRef: IMAGE,
  httpStatus: 401,
};

export function input(
  overrides: Omit<Partial<DiagnosisInput>, 'row'> & { row?: Partial<DiagnosisInput['row']> } = {},
): DiagnosisInput {
  const { row, ...rest } = overrides;
  return {
    row: {
      machine_id: 'vyx-63eea370',
      user_id: 'user-1',
      status: 'starting',
      status_changed_at: iso(120),
      fly_app: 'vyx-app',
      fly_machine_id: '3d8d9e1bc42d89',
      image: IMAGE,
      last_heartbeat_at: null,
      created_at: iso(125),
      ...row,
    },
    machine: machine(),
    matchedBy: 'fly_machine_id',
    imageCheck: imageExists,
    secretNames: [],
    now: NOW,
    stuckAfterS: 60,
    ...rest,
  };
}
