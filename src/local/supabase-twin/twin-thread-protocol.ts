import type { ErrorCode } from '../../errors/error-codes.ts';
import { VyxError } from '../../errors/vyx-error.ts';
import type { MigrationResult } from './migrations.ts';
import type { SupabaseTwinOptions } from './supabase-twin.ts';

/** The twin as the thread reports it once it listens (everything but the backend and close). */
export interface TwinThreadReady {
  url: string;
  serviceKey: string;
  anonKey: string;
  jwtSecret: string;
  database: string;
  kind: 'pglite' | 'postgres';
  migrations: MigrationResult;
  /** The thread's `vyx:` performance marks, in milliseconds since the epoch (so the parent can place them). */
  marks: { name: string; at: number }[];
}

/** Parent → thread: one call, answered by a `ThreadAnswer` with the same id. */
export type ThreadCall =
  | { id: number; op: 'start'; options: SupabaseTwinOptions }
  | { id: number; op: 'query'; sql: string; params?: unknown[] }
  | { id: number; op: 'begin'; readOnly: boolean }
  | { id: number; op: 'tx-query'; tx: number; sql: string; params?: unknown[] }
  | { id: number; op: 'tx-exec'; tx: number; sql: string }
  | { id: number; op: 'end'; tx: number; commit: boolean }
  | { id: number; op: 'listen'; channel: string }
  | { id: number; op: 'unlisten'; listener: number }
  | { id: number; op: 'close' };

/** Thread → parent (`start` is answered with a TwinThreadReady). */
export type ThreadMessage =
  | { op: 'answer'; id: number; value?: unknown; error?: WireError }
  | { op: 'notify'; listener: number; payload: string };

/**
 * An error as it crosses the thread. Structured clone keeps an Error's message and stack but drops
 * `code` and every other field, and start-up branches on them (EADDRINUSE names the port's
 * variable, ECONNREFUSED waits for the database, a VyxError renders its one line): kept here.
 */
export interface WireError {
  message: string;
  name?: string;
  stack?: string;
  fields: Record<string, unknown>;
  vyx?: { code: string; suggestion: string; details: Record<string, unknown> };
  cause?: WireError;
  errors?: WireError[];
}

const CLONEABLE = new Set(['string', 'number', 'boolean']);

export function toWire(err: unknown, depth = 0): WireError {
  if (!(err instanceof Error)) return { message: String(err), fields: {} };
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(err)) {
    if (CLONEABLE.has(typeof v) && k !== 'message' && k !== 'stack') fields[k] = v;
  }
  const wire: WireError = { message: err.message, name: err.name, fields };
  if (err.stack) wire.stack = err.stack;
  if (err instanceof VyxError) {
    wire.vyx = { code: err.code, suggestion: err.suggestion, details: structuredClone(err.details) };
  }
  if (depth < 5 && err.cause !== undefined) wire.cause = toWire(err.cause, depth + 1);
  const many = (err as { errors?: unknown }).errors;
  if (depth < 5 && Array.isArray(many)) wire.errors = many.slice(0, 10).map((e) => toWire(e, depth + 1));
  return wire;
}

export function fromWire(wire: WireError): Error {
  const cause = wire.cause ? fromWire(wire.cause) : undefined;
  let err: Error;
  if (wire.vyx) {
    err = new VyxError(wire.vyx.code as ErrorCode, wire.message, {
      suggestion: wire.vyx.suggestion,
      details: wire.vyx.details,
      ...(cause ? { cause } : {}),
    });
  } else {
    err = Object.assign(new Error(wire.message, cause ? { cause } : undefined), wire.fields);
    if (wire.name) err.name = wire.name;
  }
  if (wire.stack) err.stack = wire.stack;
  if (wire.errors) Object.assign(err, { errors: wire.errors.map(fromWire) });
  return err;
}
