import type { Diagnosis } from '../diagnose/diagnosis.ts';
import type { Metrics } from '../metrics.ts';
import type { VyxStore } from '../store/vyx-store.ts';

/** Diagnoses recorded per SQL call, at most; and at most about this many bytes of them. */
const RECORD_CHUNK = 1_000;
const RECORD_CHUNK_BYTES = 512 * 1024;

/**
 * Records diagnoses in chunks, one SQL call each (one call per row made a 10,000-row tick ~14×
 * slower). A chunk is bounded by count and by size: evidence grows with what Fly says, and a
 * request body past PostgREST's gateway limit would fail the whole chunk. A certain diagnosis
 * fails its row when `markFailed`.
 */
export async function recordInChunks(
  found: { machineId: string; d: Diagnosis }[],
  o: {
    store: VyxStore;
    renotifyAfterS: number;
    markFailed: boolean;
    metrics?: Metrics;
    /** Who found them, as the diagnoses metric labels it. */
    source?: 'watcher' | 'fast';
    /**
     * A claimed page's leases, given back: each chunk's call those of the rows it records, the last
     * call the rest, even when there is nothing to record.
     */
    release?: { owner: string; machineIds: string[] };
  },
): Promise<Awaited<ReturnType<VyxStore['recordDiagnoses']>>> {
  const out: Awaited<ReturnType<VyxStore['recordDiagnoses']>> = [];
  const items = found.map(({ machineId, d }) => ({
    machineId,
    code: d.code,
    summary: d.summary,
    evidence: d.evidence,
    fix: d.fix,
    certainty: d.certainty,
    markFailed: o.markFailed && d.certainty === 'certain',
  }));
  let chunk: typeof items = [];
  let bytes = 0;
  // Each chunk's call gives back the leases of the page's rows it records (one write per row, in
  // the database); the last call also those of the rows that got no diagnosis.
  const unreleased = o.release ? new Set(o.release.machineIds) : undefined;
  const flush = async (last: boolean) => {
    if (chunk.length === 0 && !(last && o.release)) return;
    for (const item of chunk) o.metrics?.diagnoses.inc({ code: item.code, source: o.source ?? 'watcher' });
    let release: { owner: string; machineIds: string[] } | undefined;
    if (o.release && unreleased) {
      const ids = last ? [...unreleased] : chunk.map((i) => i.machineId).filter((id) => unreleased.has(id));
      for (const id of ids) unreleased.delete(id);
      release = { owner: o.release.owner, machineIds: ids };
    }
    out.push(...(await o.store.recordDiagnoses(chunk, o.renotifyAfterS, release)));
    chunk = [];
    bytes = 0;
  };
  for (const item of items) {
    const size = jsonLength(item);
    if (chunk.length >= RECORD_CHUNK || bytes + size > RECORD_CHUNK_BYTES) await flush(false);
    chunk.push(item);
    bytes += size;
  }
  await flush(true);
  return out;
}

/**
 * About the length of `JSON.stringify(value)` (escapes aside), without building the text: the
 * request body is stringified once already, and a second copy per diagnosis was ~17 MB of garbage
 * for a 10,000-row tick.
 */
function jsonLength(value: unknown): number {
  if (typeof value === 'string') return value.length + 2;
  if (value === null || typeof value !== 'object') return String(value).length;
  // Brackets, and a comma between parts (counted before each part, one too many).
  let n = 1;
  if (Array.isArray(value)) {
    for (const v of value) n += jsonLength(v) + 1;
    return Math.max(n, 2);
  }
  for (const k in value) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined) n += k.length + 4 + jsonLength(v);
  }
  return Math.max(n, 2);
}
