import { isVyxError } from '../../errors/vyx-error.ts';

/** A failure in words for the asker: code, what happened, what to do. Never a stack trace. */
export function failureText(err: unknown): string {
  if (isVyxError(err)) return `:x: *${err.code}*: ${err.message}\n${err.suggestion}`;
  return ':x: Something went wrong on my side; it has been logged. Try again in a minute.';
}
