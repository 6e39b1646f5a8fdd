/**
 * Checks Slack traffic against Slack's Web API spec (Swagger 2.0; the subset in
 * test/fixtures/slack/, see its README):
 *
 * - `validateSlackCall(method, args)`: a Web API call's arguments against the method's
 *   parameters: the method exists; every required parameter is present (the `token` header is not
 *   checked: it travels in `Authorization` and the transcript never holds it); each value has the
 *   parameter's type; no parameter the method does not take.
 * - `validateSlackResponse(method, status, body)`: a success answer against the method's `200`
 *   schema (ajv); an error answer has the `{ ok: false, error }` shape; a 429 is a rate limit.
 * - `validateTranscriptEntry(entry)`: one Slack twin transcript entry, by kind: Web API calls as
 *   above (arguments and answer); response_url posts against Bolt's `RespondArguments` (the
 *   chat.postMessage parameters without `channel`, plus `response_type`, `replace_original`,
 *   `delete_original`); deliveries to the bot against the fields Slack sends.
 * - `expectValidSlackTranscript(entries)`: throws one error listing every problem.
 *
 * Leniency, where the 2020 spec is looser or older than the API (each documented below):
 * form values are strings, so `"true"`/`"1"` pass as booleans and numeric strings as numbers;
 * `blocks`/`attachments`/`metadata` may be a JSON string or the decoded array/object;
 * parameters newer than the spec are allowed per method (`NEWER_PARAMETERS`); for answers,
 * `additionalProperties: false` is dropped (the API added fields such as `app_id`, `metadata`,
 * `edited` since), `chat.update`'s `message.blocks` (typed object, sent as an array) is untyped,
 * and empty `messages` lists are allowed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { SlackTranscriptEntry } from '../../src/local/slack-twin/slack-transcript.ts';

export const SLACK_SPEC_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../fixtures/slack/slack-web-openapi-subset.json',
);

interface SpecParameter {
  name: string;
  in: 'header' | 'query' | 'formData' | 'body' | 'path';
  type?: 'string' | 'boolean' | 'number' | 'integer' | 'array';
  required?: boolean;
}
interface SpecOperation {
  parameters?: SpecParameter[];
  responses: Record<string, { schema?: unknown }>;
}
interface Spec {
  paths: Record<string, Record<string, SpecOperation>>;
  definitions: Record<string, unknown>;
}

const spec = JSON.parse(readFileSync(SLACK_SPEC_FILE, 'utf8')) as Spec;

/** Parameters the API takes today that the 2020 spec does not list. */
export const NEWER_PARAMETERS: Record<string, string[]> = {
  '*': ['team_id'],
  'chat.postMessage': ['metadata', 'markdown_text'],
  'chat.update': ['metadata', 'markdown_text', 'reply_broadcast', 'file_ids'],
  'chat.postEphemeral': ['markdown_text'],
  'conversations.history': ['include_all_metadata'],
  'conversations.replies': ['include_all_metadata'],
};

/** Parameters the spec marks optional that Slack's method docs require. */
export const REQUIRED_BY_DOCS: Record<string, string[]> = {
  'conversations.history': ['channel'],
  'conversations.replies': ['channel', 'ts'],
  'conversations.info': ['channel'],
};

/** Arguments that may be JSON strings (form) or their decoded values (JSON body, transcript). */
const JSON_ARGUMENTS = new Set(['blocks', 'attachments', 'metadata']);

export interface SpecResult {
  ok: boolean;
  problems: string[];
}

function operation(method: string): SpecOperation | undefined {
  const item = spec.paths[`/${method}`];
  return item?.post ?? item?.get;
}

export function specMethods(): string[] {
  return Object.keys(spec.paths).map((p) => p.slice(1));
}

function typeProblem(name: string, type: SpecParameter['type'], value: unknown): string | undefined {
  if (value === undefined || value === null) return `${name} is ${String(value)}`;
  if (JSON_ARGUMENTS.has(name) && typeof value === 'object') return undefined;
  switch (type) {
    case 'string':
      return typeof value === 'string' || typeof value === 'number'
        ? undefined
        : `${name} should be a string, got ${JSON.stringify(value)}`;
    case 'boolean':
      return typeof value === 'boolean' || ['true', 'false', '1', '0'].includes(String(value))
        ? undefined
        : `${name} should be a boolean, got ${JSON.stringify(value)}`;
    case 'number':
      return (typeof value === 'number' || typeof value === 'string') &&
        value !== '' &&
        Number.isFinite(Number(value))
        ? undefined
        : `${name} should be a number, got ${JSON.stringify(value)}`;
    case 'integer':
      return (typeof value === 'number' || typeof value === 'string') &&
        value !== '' &&
        Number.isInteger(Number(value))
        ? undefined
        : `${name} should be an integer, got ${JSON.stringify(value)}`;
    default:
      return undefined;
  }
}

function checkParameters(
  label: string,
  parameters: SpecParameter[],
  args: Record<string, unknown>,
  required: string[],
  allowedExtra: string[],
): string[] {
  const problems: string[] = [];
  const byName = new Map(parameters.filter((p) => p.in !== 'header').map((p) => [p.name, p]));
  for (const name of required) {
    const v = args[name];
    if (v === undefined || v === null || v === '')
      problems.push(`${label}: required argument ${name} is missing`);
  }
  for (const [name, value] of Object.entries(args)) {
    const p = byName.get(name);
    if (!p) {
      if (!allowedExtra.includes(name)) problems.push(`${label}: ${name} is not an argument of this method`);
      continue;
    }
    const problem = typeProblem(name, p.type, value);
    if (problem) problems.push(`${label}: ${problem}`);
  }
  return problems;
}

/** A Web API call's arguments (without the token) against the method's parameters. */
export function validateSlackCall(method: string, args: Record<string, unknown>): SpecResult {
  const op = operation(method);
  if (!op) return { ok: false, problems: [`${method}: not a method of the Slack Web API spec (subset)`] };
  const parameters = op.parameters ?? [];
  const required = [
    ...parameters.filter((p) => p.required && p.in !== 'header').map((p) => p.name),
    ...(REQUIRED_BY_DOCS[method] ?? []),
  ];
  const extra = [...(NEWER_PARAMETERS['*'] ?? []), ...(NEWER_PARAMETERS[method] ?? [])];
  const problems = checkParameters(method, parameters, args, [...new Set(required)], extra);
  return { ok: problems.length === 0, problems };
}

/** The spec with the leniencies for answers applied (see the file comment). */
function lenientSpec(): Spec {
  const copy = structuredClone(spec);
  const strip = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const x of v) strip(x);
    } else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.additionalProperties === false) delete o.additionalProperties;
      if (o.type === 'array' && o.minItems === 1 && o.uniqueItems === true) delete o.minItems;
      for (const x of Object.values(o)) strip(x);
    }
  };
  strip(copy);
  const update = copy.paths['/chat.update']?.post?.responses['200']?.schema as
    | { properties?: { message?: { properties?: Record<string, unknown> } } }
    | undefined;
  if (update?.properties?.message?.properties) update.properties.message.properties.blocks = {};
  return copy;
}

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats.default(ajv);
const answerSpec = lenientSpec();
ajv.addSchema({ $id: 'slack-web.json', ...answerSpec });
const validators = new Map<string, ValidateFunction>();

function successValidator(method: string): ValidateFunction | undefined {
  if (validators.has(method)) return validators.get(method);
  const item = answerSpec.paths[`/${method}`];
  const verb = item?.post ? 'post' : item?.get ? 'get' : undefined;
  if (!verb || !item?.[verb]?.responses['200']?.schema) return undefined;
  const pointer = `slack-web.json#/paths/${`/${method}`.replace(/~/g, '~0').replace(/\//g, '~1')}/${verb}/responses/200/schema`;
  const v = ajv.compile({ $ref: pointer });
  validators.set(method, v);
  return v;
}

/** A Web API answer against the method's success schema, or Slack's error / rate-limit shapes. */
export function validateSlackResponse(method: string, status: number | undefined, body: unknown): SpecResult {
  const problems: string[] = [];
  const b = body as { ok?: unknown; error?: unknown } | null;
  if (status === 429) {
    if (b?.ok !== false || typeof b.error !== 'string')
      problems.push(`${method}: a 429 answer should be { ok: false, error }`);
  } else if (status !== 200) {
    problems.push(`${method}: the Web API answers 200 (or 429), not ${status}`);
  } else if (!b || typeof b !== 'object') {
    problems.push(`${method}: the answer is not a JSON object`);
  } else if (b.ok === false) {
    if (typeof b.error !== 'string' || b.error === '')
      problems.push(`${method}: an error answer needs an error code`);
  } else {
    const v = successValidator(method);
    if (!v) problems.push(`${method}: the spec has no success schema`);
    else if (!v(body))
      for (const e of v.errors ?? [])
        problems.push(`${method} answer: ${e.instancePath || '/'} ${e.message ?? ''}`);
  }
  return { ok: problems.length === 0, problems };
}

/** Bolt's RespondArguments: chat.postMessage's parameters without `channel`, plus the response_url ones. */
function validateRespondArguments(args: Record<string, unknown>): string[] {
  const post = operation('chat.postMessage')?.parameters ?? [];
  const parameters: SpecParameter[] = [
    ...post.filter((p) => p.name !== 'channel'),
    { name: 'replace_original', in: 'formData', type: 'boolean' },
    { name: 'delete_original', in: 'formData', type: 'boolean' },
    { name: 'response_type', in: 'formData', type: 'string' },
  ];
  const problems = checkParameters('response_url', parameters, args, [], ['metadata']);
  if (
    args.response_type !== undefined &&
    args.response_type !== 'in_channel' &&
    args.response_type !== 'ephemeral'
  )
    problems.push(
      `response_url: response_type should be in_channel or ephemeral, got ${JSON.stringify(args.response_type)}`,
    );
  if (args.channel !== undefined) problems.push('response_url: channel is not an argument of a response_url');
  return problems;
}

const SLASH_COMMAND_FIELDS = [
  'command',
  'text',
  'user_id',
  'user_name',
  'team_id',
  'team_domain',
  'channel_id',
  'channel_name',
  'response_url',
  'trigger_id',
  'api_app_id',
];

function validateDelivery(entry: SlackTranscriptEntry): string[] {
  const a = entry.args;
  const problems: string[] = [];
  if (entry.kind === 'slash_command') {
    for (const f of SLASH_COMMAND_FIELDS)
      if (typeof a[f] !== 'string') problems.push(`slash command: ${f} should be a string`);
    if (typeof a.command === 'string' && !a.command.startsWith('/'))
      problems.push('slash command: command should start with /');
  } else if (entry.kind === 'block_actions') {
    if (a.type !== 'block_actions') problems.push('block_actions: type should be block_actions');
    for (const f of ['user', 'team', 'channel', 'container'])
      if (!a[f] || typeof a[f] !== 'object') problems.push(`block_actions: ${f} should be an object`);
    for (const f of ['response_url', 'trigger_id', 'api_app_id'])
      if (typeof a[f] !== 'string') problems.push(`block_actions: ${f} should be a string`);
    const actions = a.actions;
    if (!Array.isArray(actions) || actions.length === 0)
      problems.push('block_actions: actions should be a non-empty array');
    else
      for (const act of actions as Array<Record<string, unknown>>)
        for (const f of ['action_id', 'block_id', 'type', 'action_ts'])
          if (typeof act[f] !== 'string') problems.push(`block_actions: actions[].${f} should be a string`);
  }
  return problems;
}

export function validateTranscriptEntry(entry: SlackTranscriptEntry): SpecResult {
  let problems: string[] = [];
  switch (entry.kind) {
    case 'api':
      problems = [
        ...validateSlackCall(entry.method, entry.args).problems,
        ...validateSlackResponse(entry.method, entry.status, entry.response).problems,
      ];
      break;
    case 'response_url':
      problems = validateRespondArguments(entry.args);
      break;
    case 'slash_command':
    case 'block_actions':
      problems = validateDelivery(entry);
      break;
    case 'ack':
      break;
  }
  return { ok: problems.length === 0, problems: problems.map((p) => `#${entry.seq} ${p}`) };
}

/** Throws one error naming every problem in the entries. */
export function expectValidSlackTranscript(entries: SlackTranscriptEntry[]): void {
  const problems = entries.flatMap((e) => validateTranscriptEntry(e).problems);
  if (problems.length > 0)
    throw new Error(`Slack transcript does not match the spec:\n${problems.join('\n')}`);
}
