/** The logging the runtime's parts need (pino's Logger satisfies it; tests pass a recorder). */
export interface RuntimeLog {
  fatal(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  debug(obj: Record<string, unknown>, msg: string): void;
}

/** A short, secret-free description of an error for a log field. */
export function errorText(err: unknown): string {
  if (err && typeof err === 'object' && 'toLine' in err && typeof err.toLine === 'function') {
    return String(err.toLine());
  }
  return err instanceof Error ? err.message : String(err);
}
