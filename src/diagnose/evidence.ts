import { latestExit, type Machine } from '../fly/fly-types.ts';
import type { DiagnosisInput, Evidence } from './diagnosis.ts';

// Small builders shared by the rules, so every card states the same facts the same way.

export function fact(input: DiagnosisInput, f: string, value: string, source: Evidence['source']): Evidence {
  return { fact: f, value, source, at: isoOf(input.now) };
}

// A tick's facts all carry its one `now`: written once (~100,000 facts a 10,000-row tick), not per fact.
let lastTime = Number.NaN;
let lastIso = '';
function isoOf(now: Date): string {
  const t = now.getTime();
  if (t !== lastTime) {
    lastIso = now.toISOString();
    lastTime = t;
  }
  return lastIso;
}

export function secondsSince(iso: string | null | undefined, now: Date): number | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : Math.max(0, Math.round((now.getTime() - t) / 1000));
}

export function formatDuration(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** The row's own facts: id, time in `starting`, where it points. */
export function rowEvidence(input: DiagnosisInput): Evidence[] {
  const since = secondsSince(input.row.status_changed_at, input.now);
  return [
    fact(
      input,
      'row',
      since === undefined
        ? `${input.row.machine_id} is ${input.row.status}`
        : `${input.row.machine_id} has been ${input.row.status} for ${formatDuration(since)}`,
      'database',
    ),
  ];
}

/** The machine's state, image and newest events, as Fly reported them. */
export function machineEvidence(input: DiagnosisInput, machine: Machine): Evidence[] {
  const out = [fact(input, 'Fly machine', `${machine.id} is ${machine.state}`, 'fly')];
  if (machine.config?.image) out.push(fact(input, 'image', machine.config.image, 'fly'));
  if (machine.config?.auto_destroy !== undefined) {
    out.push(fact(input, 'auto_destroy', String(machine.config.auto_destroy), 'fly'));
  }
  const exit = latestExit(machine);
  if (exit) {
    const e = exit.exitEvent;
    out.push(
      fact(
        input,
        'last exit',
        `exit code ${e.exit_code ?? '?'}${e.oom_killed ? ', OOM-killed' : ''}${exit.restartCount === undefined ? '' : `, restart count ${exit.restartCount}`}`,
        'fly',
      ),
    );
  }
  for (const text of flyEventTexts(machine)) out.push(fact(input, 'Fly event', text, 'fly'));
  const recent = machine.events
    .slice(0, 4)
    .map((e) => `${e.type}/${e.status}`)
    .join(', ');
  if (recent) out.push(fact(input, 'recent events', recent, 'fly'));
  return out;
}

/**
 * Fly's own words from the machine's events (e.g. a launch that failed: `failed to pull image …`),
 * newest first, as `type/status: text`. Events carry a free-form `request`.
 */
export function flyEventTexts(machine: Pick<Machine, 'events'>): string[] {
  const out: string[] = [];
  for (const e of machine.events) {
    const request = (e.request ?? {}) as Record<string, unknown>;
    const exit = (request.exit_event ?? {}) as Record<string, unknown>;
    // Where Fly has been seen to put its words: the request's error/message, or the exit event's.
    const text = [request.error, request.message, exit.error, exit.guest_error].find(
      (t): t is string => typeof t === 'string' && t !== '',
    );
    if (text) out.push(`${e.type}/${e.status}: ${text.replace(/\s+/g, ' ').slice(0, 300)}`);
  }
  return out.slice(0, 3);
}

/** The machine never ran its process: no Fly machine, or one whose launch failed before any start. */
export function neverStarted(machine: Machine | null): boolean {
  if (!machine) return true;
  if (machine.events.some((e) => e.type === 'start' && e.status === 'started')) return false;
  if (machine.events.some((e) => e.status === 'failed' || e.type === 'launch_failed')) return true;
  return machine.state === 'destroyed' || machine.state === 'failed' || machine.state === 'launch_failed';
}

/** A registry's "missing" answer in words, e.g. `404 MANIFEST_UNKNOWN: manifest unknown`. */
export function registryAnswer(check: { httpStatus?: number; errorCode?: string; reason: string }): string {
  const code = check.errorCode && !check.reason.startsWith(check.errorCode) ? ` ${check.errorCode}` : '';
  const status = check.httpStatus === undefined ? 'no answer' : String(check.httpStatus);
  return `${status}${code}: ${check.reason}`;
}

/** The image the machine runs, else the one the row asked for. */
export function imageOf(input: DiagnosisInput): string | undefined {
  return input.machine?.config?.image ?? input.row.image ?? undefined;
}

/** The names the machine's process receives: config.env keys ∪ the app's secret names. */
export function envNamesOf(input: DiagnosisInput): string[] {
  return [...Object.keys(input.machine?.config?.env ?? {}), ...(input.secretNames ?? [])];
}

/**
 * Status writes that matched no row since this row entered its status, grouped by writer, e.g.
 * `3 status updates from service_role (PATCH /rest/v1/cloud_machines) matched no row since 21:05 UTC`:
 * the incident's runtime writing by a machine_id no row has looks exactly like this.
 */
export function unmatchedWritesEvidence(input: DiagnosisInput): Evidence[] {
  const since = Date.parse(input.row.status_changed_at ?? '');
  const writes = (input.unmatchedWrites ?? []).filter((w) => !(Date.parse(w.at) < since));
  const groups = new Map<string, { label: string; n: number; first: number }>();
  for (const w of writes) {
    const via = [w.method, w.path].filter(Boolean).join(' ');
    const who = [w.role ?? w.db_user ?? 'an unknown writer', w.machine_id && `machine ${w.machine_id}`]
      .filter(Boolean)
      .join(', ');
    const label = `${who}${via ? ` (${via})` : ''}`;
    const g = groups.get(label) ?? { label, n: 0, first: Number.POSITIVE_INFINITY };
    g.n++;
    g.first = Math.min(g.first, Date.parse(w.at));
    groups.set(label, g);
  }
  return [...groups.values()].map((g) =>
    fact(
      input,
      'status writes that matched no row',
      `${g.n} status update${g.n === 1 ? '' : 's'} from ${g.label} matched no row since ${new Date(g.first).toISOString().slice(11, 16)} UTC`,
      'database',
    ),
  );
}

/**
 * An image rule's evidence: the row, the image and the registry's answer, then the machine — or,
 * when Fly has none, `noMachine` saying so.
 */
export function imageEvidence(
  input: DiagnosisInput,
  check: { imageRef: string; httpStatus?: number; errorCode?: string; reason: string },
  noMachine: string,
): Evidence[] {
  return [
    ...rowEvidence(input),
    fact(input, 'image', check.imageRef, 'registry'),
    fact(input, 'registry answer', registryAnswer(check), 'registry'),
    ...(input.machine
      ? machineEvidence(input, input.machine)
      : [fact(input, 'Fly machine', noMachine, 'fly')]),
  ];
}
