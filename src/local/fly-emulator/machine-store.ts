/**
 * The emulator's machines and apps, and their JSON as the Machines API writes it
 * (field names and shapes of shared/reference/fly-machine-example-*.json).
 */
import { createHash } from 'node:crypto';

export interface StoredEvent {
  id: string;
  type: string;
  status: string;
  source: string;
  timestamp: number;
  request?: Record<string, unknown>;
}

export interface MachineRecord {
  id: string;
  app: string;
  name: string;
  state: string;
  region: string;
  instanceId: string;
  privateIp: string;
  config: Record<string, unknown> & { image: string };
  imageRef: {
    registry: string;
    repository: string;
    tag: string;
    digest?: string;
    labels: Record<string, string>;
  };
  /** Newest first, as Fly returns them. */
  events: StoredEvent[];
  createdAt: number;
  updatedAt: number;
  restartCount: number;
  /** Bulk machines have no process: lifecycle calls only change their state. */
  bulk: boolean;
  /** Creation order, for stable list pages. */
  seq: number;
  /** Fly's `host_status`; `ok` unless a test takes the host away. */
  hostStatus?: 'ok' | 'unknown' | 'unreachable';
  /** The machine's lease, while one is held (Fly's `nonce`, owner = the token's user). */
  lease?: { nonce: string; owner: string; description: string; expiresAt: number; version: string };
}

export interface AppRecord {
  name: string;
  secrets: Map<string, { value: string; createdAt: number; updatedAt: number }>;
  machines: Map<string, MachineRecord>;
  /** Creation order. */
  order: MachineRecord[];
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ADJECTIVES = [
  'aged',
  'quirky',
  'bold',
  'calm',
  'damp',
  'eager',
  'frosty',
  'late',
  'misty',
  'proud',
  'shy',
];
const NOUNS = [
  'thunder',
  'machine',
  'river',
  'sun',
  'leaf',
  'breeze',
  'dawn',
  'field',
  'pond',
  'wave',
  'cloud',
];

export interface MachineStore {
  apps: Map<string, AppRecord>;
  ensureApp(name: string): AppRecord;
  app(name: string): AppRecord | undefined;
  insert(record: Omit<MachineRecord, 'seq'>): MachineRecord;
  newMachineId(): string;
  newVersion(): string;
  newPrivateIp(): string;
  newName(): string;
  newEventId(): string;
  newRequestId(region: string): string;
  addEvent(record: MachineRecord, event: Omit<StoredEvent, 'id' | 'timestamp'>): StoredEvent;
  setState(record: MachineRecord, state: string): void;
  toJson(record: MachineRecord, options?: { summary?: boolean }): Record<string, unknown>;
  /**
   * `JSON.stringify(toJson(record, options))` as UTF-8, kept per machine until it changes: the
   * lists of a 10,000-row tick were ~0.15 s of the emulator's CPU serialising unchanged machines.
   */
  jsonBytes(record: MachineRecord, options?: { summary?: boolean }): Buffer;
  eventJson(event: StoredEvent): Record<string, unknown>;
  secretsJson(app: AppRecord): Record<string, unknown>;
}

/** RFC 3339 without fractions, as Fly writes `created_at`. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function createMachineStore(options: { now: () => number; random: () => number }): MachineStore {
  const { now, random } = options;
  const apps = new Map<string, AppRecord>();
  let seq = 0;
  const hex = (length: number) => {
    let out = '';
    for (let i = 0; i < length; i++) out += Math.floor(random() * 16).toString(16);
    return out;
  };
  const ulid = () => {
    let time = now();
    let head = '';
    for (let i = 0; i < 10; i++) {
      head = CROCKFORD[time % 32] + head;
      time = Math.floor(time / 32);
    }
    let tail = '';
    for (let i = 0; i < 16; i++) tail += CROCKFORD[Math.floor(random() * 32)];
    return head + tail;
  };
  // What a machine's JSON depends on that changes after creation: its state, its events and
  // updated_at (moved by setState/addEvent), its host status. Its config and image never change.
  interface Cached {
    state: string;
    updatedAt: number;
    events: number;
    newest: StoredEvent | undefined;
    hostStatus: MachineRecord['hostStatus'];
    full?: Buffer;
    summary?: Buffer;
  }
  const cache = new WeakMap<MachineRecord, Cached>();
  const current = (r: MachineRecord, c: Cached | undefined): c is Cached =>
    c !== undefined &&
    c.state === r.state &&
    c.updatedAt === r.updatedAt &&
    c.events === r.events.length &&
    c.newest === r.events[0] &&
    c.hostStatus === r.hostStatus;
  const pick = (list: string[]) => list[Math.floor(random() * list.length)] ?? list[0];

  const store: MachineStore = {
    apps,
    ensureApp(name) {
      let app = apps.get(name);
      if (!app) {
        app = { name, secrets: new Map(), machines: new Map(), order: [] };
        apps.set(name, app);
      }
      return app;
    },
    app: (name) => apps.get(name),
    insert(partial) {
      const record: MachineRecord = { ...partial, seq: seq++ };
      const app = store.ensureApp(record.app);
      app.machines.set(record.id, record);
      app.order.push(record);
      return record;
    },
    newMachineId() {
      for (;;) {
        const id = hex(14);
        let taken = false;
        for (const app of apps.values()) if (app.machines.has(id)) taken = true;
        if (!taken) return id;
      }
    },
    newVersion: ulid,
    newPrivateIp: () => `fdaa:0:1:a7b:${hex(3)}:${hex(4)}:${hex(4)}:2`,
    newName: () => `${pick(ADJECTIVES)}-${pick(NOUNS)}-${1000 + Math.floor(random() * 9000)}`,
    newEventId: ulid,
    newRequestId: (region) => `${ulid()}-${region}`,
    addEvent(record, event) {
      const stored: StoredEvent = { id: ulid(), timestamp: now(), ...event };
      record.events.unshift(stored);
      if (record.events.length > 200) record.events.length = 200;
      record.updatedAt = now();
      return stored;
    },
    setState(record, state) {
      record.state = state;
      record.updatedAt = now();
    },
    eventJson(event) {
      const out: Record<string, unknown> = {
        id: event.id,
        type: event.type,
        status: event.status,
        source: event.source,
        timestamp: event.timestamp,
      };
      if (event.request !== undefined) out.request = event.request;
      return out;
    },
    toJson(record, jsonOptions = {}) {
      const out: Record<string, unknown> = {
        id: record.id,
        name: record.name,
        state: record.state,
        region: record.region,
        instance_id: record.instanceId,
        private_ip: record.privateIp,
      };
      if (!jsonOptions.summary) out.config = record.config;
      out.image_ref = { ...record.imageRef, labels: { ...record.imageRef.labels } };
      out.created_at = rfc3339(record.createdAt);
      out.updated_at = rfc3339(record.updatedAt);
      if (!jsonOptions.summary) {
        out.events = record.events.map((event) => store.eventJson(event));
        out.host_status = record.hostStatus ?? 'ok';
      }
      return out;
    },
    jsonBytes(record, jsonOptions = {}) {
      let cached = cache.get(record);
      if (!current(record, cached)) {
        cached = {
          state: record.state,
          updatedAt: record.updatedAt,
          events: record.events.length,
          newest: record.events[0],
          hostStatus: record.hostStatus,
        };
        cache.set(record, cached);
      }
      const which = jsonOptions.summary ? 'summary' : 'full';
      cached[which] ??= Buffer.from(JSON.stringify(store.toJson(record, jsonOptions)));
      return cached[which];
    },
    secretsJson(app) {
      return {
        secrets: [...app.secrets.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([name, secret]) => ({
            name,
            digest: createHash('sha256').update(secret.value).digest('hex').slice(0, 16),
            created_at: rfc3339(secret.createdAt),
            updated_at: rfc3339(secret.updatedAt),
          })),
      };
    },
  };
  return store;
}
