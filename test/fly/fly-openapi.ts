/**
 * Validates Fly emulator answers against the Fly Machines OpenAPI spec (2025-03-07 JSON copy in
 * test/fixtures/fly/). Answers the 2025 spec has no schema for are checked against the 2026 spec's
 * schemas (fly-machines-openapi.yaml: WaitMachineResponse, AppSecrets/AppSecret), transcribed below
 * because no YAML parser is installed, and the docs' `{"ok":true}` / start bodies.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { EmulatorResponse } from '../../src/local/fly-emulator/fly-emulator.ts';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/fly');

const spec = JSON.parse(readFileSync(path.join(FIXTURES, 'fly-machines-openapi.json'), 'utf8')) as {
  components: { schemas: Record<string, unknown> };
};

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema({ $id: 'fly-2025.json', components: spec.components });

const ref = (name: string) => ({ $ref: `fly-2025.json#/components/schemas/${name}` });
const compile = (schema: object) => ajv.compile(schema);

/** Fields the emulator always writes (the spec marks none required; vyxbot reads these). */
const machineCore = {
  type: 'object',
  required: ['id', 'name', 'state', 'region', 'instance_id', 'image_ref', 'created_at'],
};
const machine = { allOf: [ref('Machine'), machineCore] };

export const validators: Record<string, ValidateFunction> = {
  Machine: compile(machine),
  MachineList: compile({ type: 'array', items: machine }),
  MachineEventList: compile({
    type: 'array',
    items: { allOf: [ref('MachineEvent'), { required: ['type', 'status', 'source', 'timestamp'] }] },
  }),
  ErrorResponse: compile({ allOf: [ref('ErrorResponse'), { type: 'object', required: ['error'] }] }),
  // 2026 spec (yaml) WaitMachineResponse: {event_id, ok, state, version}, all strings but ok.
  WaitMachineResponse: compile({
    type: 'object',
    properties: {
      event_id: { type: 'string' },
      ok: { type: 'boolean' },
      state: { type: 'string' },
      version: { type: 'string' },
    },
  }),
  // 2026 spec (yaml) AppSecrets: {secrets: AppSecret[]}, AppSecret {created_at, digest, name, updated_at, value}.
  AppSecrets: compile({
    type: 'object',
    required: ['secrets'],
    properties: {
      secrets: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name'],
          properties: {
            created_at: { type: 'string' },
            digest: { type: 'string' },
            name: { type: 'string' },
            updated_at: { type: 'string' },
            value: { type: 'string' },
          },
        },
      },
    },
  }),
  // Docs: stop/destroy answer {"ok":true}; start {"previous_state","migrated","new_host"}.
  Ok: compile({ type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' } } }),
  StartResponse: compile({
    type: 'object',
    required: ['previous_state'],
    properties: {
      previous_state: { type: 'string' },
      migrated: { type: 'boolean' },
      new_host: { type: 'string' },
    },
  }),
};

const SCHEMA_BY_ROUTE: Record<string, string> = {
  'GET /v1/apps/:app/machines': 'MachineList',
  'POST /v1/apps/:app/machines': 'Machine',
  'GET /v1/apps/:app/machines/:id': 'Machine',
  'DELETE /v1/apps/:app/machines/:id': 'Ok',
  'GET /v1/apps/:app/machines/:id/wait': 'WaitMachineResponse',
  'POST /v1/apps/:app/machines/:id/stop': 'Ok',
  'POST /v1/apps/:app/machines/:id/start': 'StartResponse',
  'GET /v1/apps/:app/machines/:id/events': 'MachineEventList',
  'GET /v1/apps/:app/secrets': 'AppSecrets',
};

/** The schema an answer must match, or undefined for registry and unknown paths. */
export function schemaFor(response: EmulatorResponse): string | undefined {
  const path = response.route.replace(/^[A-Z]+ /, '');
  if (!path.startsWith('/v1/')) return undefined;
  if (response.status >= 400) return 'ErrorResponse';
  return SCHEMA_BY_ROUTE[response.route];
}

/** Problems of one answer; empty when it matches its schema. */
export function validateResponse(response: EmulatorResponse): string[] {
  const name = schemaFor(response);
  if (!name) return [];
  const validate = validators[name];
  if (!validate) return [`no validator ${name}`];
  if (validate(response.body)) return [];
  return (validate.errors ?? []).map(
    (e) => `${response.route} ${response.status} (${name}) ${e.instancePath} ${e.message ?? ''}`,
  );
}

/** Drops `null` and `""` (how the live API writes unset optional fields), for lenient checks. */
export function withoutUnset(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUnset);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (entry === null || entry === '') continue;
    out[key] = withoutUnset(entry);
  }
  return out;
}

/** Collects every emulator answer and checks them all at the end. */
export function responseRecorder() {
  const responses: EmulatorResponse[] = [];
  return {
    responses,
    onResponse: (response: EmulatorResponse) => {
      responses.push(response);
    },
    problems: () => responses.flatMap(validateResponse),
    routesSeen: () => new Set(responses.map((r) => `${r.route} ${r.status}`)),
  };
}
