import { z } from 'zod';
import { describeMachineEnvProblem, parseMachineEnv } from '../../../src/contract/machine-env.ts';
import { errorLine } from '../../../src/errors/error-line.ts';
import { isVyxError } from '../../../src/errors/vyx-error.ts';
import { flyApi } from './fly-api.ts';
import { provisionMachine } from './provision.ts';
import { readSettings } from './settings.ts';
import { supabaseApi } from './supabase-api.ts';

/** Codes of answers that are about the request itself, not a diagnosis or a VyxError. */
export const REQUEST_ERROR_CODES = [
  'UNAUTHENTICATED',
  'BAD_REQUEST',
  'METHOD_NOT_ALLOWED',
  'INTERNAL',
] as const;

/** What the web UI shows: `{ error: { code, summary, fix } }` (evidence when there is some). */
export interface ErrorAnswer {
  code: string;
  summary: string;
  fix: string;
  evidence?: { fact: string; value: string; source: string }[];
}

// The browser calls through supabase-js (`functions.invoke`), which sends these headers.
const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'authorization, x-client-info, apikey, content-type',
  'access-control-allow-methods': 'POST, OPTIONS',
};

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { ...CORS, 'content-type': 'application/json' } });
const refuse = (status: number, error: ErrorAnswer, more: Record<string, unknown> = {}) =>
  json(status, { error, ...more });

const bodySchema = z.object({
  region: z
    .string()
    .regex(/^[a-z]{3}$/, 'a Fly region code such as ord, ams, iad')
    .optional(),
  cpuPriority: z.string().optional(),
});

/** HTTP status for a coded failure that is nobody's input: the service it names is down, or we failed. */
const statusOf = (code: string) => (code === 'STORE_UNAVAILABLE' || code === 'FLY_UNAVAILABLE' ? 503 : 500);

export interface HandlerDeps {
  env: Record<string, string | undefined>;
  fetch?: typeof fetch;
  now?: () => Date;
  /** One JSON line per notable event (names, ids and codes; never a secret value). */
  log?: (line: Record<string, unknown>) => void;
}

/** The function's request handler (index.ts serves it with Deno.serve; tests call it directly). */
export function createHandler(deps: HandlerDeps): (req: Request) => Promise<Response> {
  const fetchFn = deps.fetch ?? fetch;
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? ((line) => console.log(JSON.stringify(line)));
  const read = readSettings(deps.env);

  return async (req) => {
    if (req.method === 'OPTIONS') return new Response('ok', { headers: CORS });
    if (req.method !== 'POST') {
      return refuse(405, {
        code: 'METHOD_NOT_ALLOWED',
        summary: `${req.method} is not how a machine is started.`,
        fix: "Call it with POST (supabase.functions.invoke('provision-machine')).",
      });
    }
    if (!read.ok) {
      log({ msg: 'settings incomplete', variables: read.problems.map((p) => p.name) });
      return refuse(500, {
        code: 'CONFIG_MISSING',
        summary: `The provision-machine function is not set up: ${read.problems.map((p) => p.problem).join('; ')}.`,
        fix: 'Set the named secrets with supabase secrets set (docs/deploying.md, "The edge function").',
      });
    }
    const settings = read.settings;
    const store = supabaseApi(settings, fetchFn);
    try {
      const userId = await store.userOf(req.headers.get('authorization'));
      if (userId === null) {
        return refuse(401, {
          code: 'UNAUTHENTICATED',
          summary: 'You are not signed in (no valid Supabase session token came with the request).',
          fix: 'Sign in again; supabase.functions.invoke sends the session token by itself.',
        });
      }
      const text = await req.text();
      let raw: unknown = {};
      try {
        raw = text.trim() === '' ? {} : JSON.parse(text);
      } catch {
        raw = undefined;
      }
      const body = bodySchema.safeParse(raw);
      const cpu =
        body.success && body.data.cpuPriority !== undefined
          ? parseMachineEnv({ CPU_PRIORITY: body.data.cpuPriority }).problems.find(
              (p) => p.name === 'CPU_PRIORITY',
            )
          : undefined;
      if (!body.success || cpu) {
        return refuse(400, {
          code: 'BAD_REQUEST',
          summary: cpu
            ? `The request is not valid: ${describeMachineEnvProblem(cpu)}.`
            : `The request is not valid: ${body.error?.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') ?? 'not a JSON object'}.`,
          fix: 'Send a JSON object such as { "region": "ord", "cpuPriority": "normal" } (both optional).',
        });
      }
      const outcome = await provisionMachine(
        { settings, store, fly: flyApi(settings, fetchFn), fetch: fetchFn, now },
        { userId, ...body.data },
      );
      const machineId = 'machine' in outcome ? outcome.machine.machine_id : undefined;
      log({
        msg: 'provision',
        outcome: outcome.kind,
        userId,
        machineId,
        ...('diagnosis' in outcome ? { code: outcome.diagnosis.code } : {}),
      });
      switch (outcome.kind) {
        case 'existing':
          return json(200, { machine: outcome.machine, existing: true });
        case 'started':
          return json(201, {
            machine: outcome.machine,
            ...(outcome.warning ? { warning: outcome.warning } : {}),
          });
        case 'refused': {
          const { code, summary, fix, evidence } = outcome.diagnosis;
          return refuse(422, {
            code,
            summary,
            fix,
            evidence: evidence.map(({ fact, value, source }) => ({ fact, value, source })),
          });
        }
        case 'failed':
          return refuse(
            502,
            { code: outcome.code, summary: outcome.summary, fix: outcome.fix },
            { machine: outcome.machine },
          );
      }
    } catch (err) {
      log({ msg: 'provision failed', error: errorLine(err) });
      if (isVyxError(err))
        return refuse(statusOf(err.code), { code: err.code, summary: err.message, fix: err.suggestion });
      return refuse(500, {
        code: 'INTERNAL',
        summary: 'The machine could not be started because of an unexpected error.',
        fix: 'Try again; if it persists, read the function’s logs (supabase functions logs are in the dashboard).',
      });
    }
  };
}
