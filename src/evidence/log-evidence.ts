import type { Diagnosis, DiagnosisCode, DiagnosisInput, Evidence } from '../diagnose/diagnosis.ts';
import { errorLine } from '../errors/error-line.ts';
import type { FlyLogsClient, LogLine } from '../fly/logs-client.ts';
import { knownSecretValues, scrubSecrets } from './scrub-secrets.ts';

/** Diagnoses whose cause is usually in the machine's own output. */
export const LOG_CODES: ReadonlySet<DiagnosisCode> = new Set([
  'BOOT_CRASH',
  'OOM_KILLED',
  'RUNTIME_SILENT',
  'MACHINE_ID_MISMATCH',
  'UNKNOWN',
]);

/** Lines on a card, characters per line, and log requests per watcher tick, at most. */
export const CARD_LOG_LINES = 8;
export const LOG_LINE_CHARS = 200;
export const LOG_FETCHES_PER_TICK = 20;

/** One machine's lines, scrubbed and clipped, oldest first, the last `lines` of them. */
export function scrubbedLines(page: LogLine[], lines: number, known: readonly string[]): string[] {
  return page.slice(-lines).map((l) => {
    const text = scrubSecrets(l.message.replace(/\s+$/, ''), known);
    return `${l.timestamp.slice(11, 19)} ${text.length > LOG_LINE_CHARS ? `${text.slice(0, LOG_LINE_CHARS - 1)}…` : text}`;
  });
}

/**
 * Adds the machine's last log lines (or why there are none) to diagnoses whose cause is usually in
 * them. Bounded: at most LOG_FETCHES_PER_TICK requests, a few at a time; a failed request costs only
 * this evidence — the card says the logs endpoint did not answer and the diagnosis stands.
 */
export async function attachLogEvidence(
  found: { d: Diagnosis; input: DiagnosisInput }[],
  deps: { logs: FlyLogsClient; defaultApp: string; secretValues?: readonly string[] },
  options: {
    now: Date;
    concurrency?: number;
    /** Requests allowed (default LOG_FETCHES_PER_TICK): what a tick judging in pages has left. */
    limit?: number;
  },
): Promise<{ requests: number }> {
  const wanted = found
    .filter(({ d, input }) => LOG_CODES.has(d.code) && input.machine !== null)
    .slice(0, Math.max(0, options.limit ?? LOG_FETCHES_PER_TICK));
  let next = 0;
  const at = options.now.toISOString();
  const worker = async () => {
    while (next < wanted.length) {
      const { d, input } = wanted[next++]!;
      const machine = input.machine!;
      const app = input.row.fly_app ?? deps.defaultApp;
      d.evidence.push(await logFact(deps, app, machine.id, machine.config?.env, at));
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, wanted.length) }, worker));
  return { requests: wanted.length };
}

async function logFact(
  deps: { logs: FlyLogsClient; secretValues?: readonly string[] },
  app: string,
  machineId: string,
  env: Record<string, string> | undefined,
  at: string,
): Promise<Evidence> {
  try {
    const page = await deps.logs.machineLogs(app, machineId);
    const known = [...knownSecretValues(env), ...(deps.secretValues ?? [])];
    const lines = scrubbedLines(page.lines, CARD_LOG_LINES, known);
    return {
      fact: 'last log lines',
      value: lines.length ? lines.join('\n') : 'none: the machine wrote nothing Fly kept',
      source: 'fly logs',
      at,
    };
  } catch (err) {
    return {
      fact: 'last log lines',
      value: `unavailable: ${errorLine(err).slice(0, 300)}`,
      source: 'fly logs',
      at,
    };
  }
}
