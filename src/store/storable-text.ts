/**
 * Text Postgres can store: it rejects NUL in `text` (over PostgREST's JSON, "unsupported Unicode
 * escape sequence") and lone surrogates. Control characters other than tab and newline are written
 * as visible escapes (`\u0000`), so the audit shows exactly what arrived and the row is never lost.
 */
export function storableText<T extends string | undefined>(text: T): T {
  if (text === undefined) return text;
  let out = '';
  for (const c of text.toWellFormed()) {
    const code = c.codePointAt(0)!;
    const control = (code < 0x20 && c !== '\t' && c !== '\n' && c !== '\r') || code === 0x7f;
    out += control ? `\\u${code.toString(16).padStart(4, '0')}` : c;
  }
  return out as T;
}
