import type { ErrorCode } from './error-codes.ts';

/**
 * The one error type of vyxbot (flyctl's error type is the model): a stable code a program can
 * branch on, a description a person can read, and a suggestion saying what to do next. A failure
 * renders straight into a Slack card and a log line from these three fields.
 */
export interface VyxErrorOptions {
  /** What to do about it, in one sentence. */
  suggestion: string;
  /** Facts that help (ids, HTTP status, request id). Never secret values. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class VyxError extends Error {
  override readonly name = 'VyxError';
  readonly code: ErrorCode;
  readonly suggestion: string;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, description: string, options: VyxErrorOptions) {
    super(description, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.suggestion = options.suggestion;
    this.details = options.details ?? {};
  }

  /** The description, without the code or the suggestion. */
  get description(): string {
    return this.message;
  }

  /** One line for logs and plain-text fallbacks: `CODE: description. suggestion`. */
  toLine(): string {
    return `${this.code}: ${this.message} — ${this.suggestion}`;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, description: this.message, suggestion: this.suggestion, details: this.details };
  }
}

export function isVyxError(value: unknown, code?: string): value is VyxError {
  return value instanceof VyxError && (code === undefined || value.code === code);
}
