import { isVyxError } from './vyx-error.ts';

/** An error as one log line: `CODE: description` for a VyxError, the message for anything else (never a stack). */
export function errorLine(err: unknown): string {
  return isVyxError(err) ? `${err.code}: ${err.message}` : String((err as Error | undefined)?.message ?? err);
}

/** The same, as structured log fields: `{ code, message }`, or `{ message }` when uncoded. */
export function errorFields(err: unknown): Record<string, unknown> {
  return isVyxError(err)
    ? { code: err.code, message: err.message }
    : { message: String((err as Error | undefined)?.message ?? err) };
}
