/**
 * The elements of a JSON array body as their JSON text, a chunk's worth at a time: a 10,000-machine
 * list is ~12.6 MB of text; read this way only one chunk's elements are held at once, never the whole
 * body nor the whole parsed array. Batches, not single elements: an async step per element was
 * 10,000 promises and iterator results per list. Elements must be objects or arrays (Fly's lists are
 * arrays of objects); anything else, or a body that is not one array, throws a SyntaxError.
 */
export async function* jsonArrayElementBatches(
  chunks: AsyncIterable<Uint8Array | string>,
): AsyncGenerator<string[]> {
  const decoder = new TextDecoder();
  let opened = false;
  let closed = false;
  let depth = 0; // inside the top-level array: 1; inside an element: > 1
  let inString = false;
  let escaped = false;
  let carry = ''; // the start of an element that continues in the next chunk
  const fail = (what: string): never => {
    throw new SyntaxError(`not a JSON array of objects: ${what}`);
  };
  for await (const chunk of chunks) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let start = depth > 1 ? 0 : -1; // where the element being read began in this text
    const batch: string[] = [];
    for (let i = 0; i < text.length; i++) {
      if (inString) {
        // Most of a machine's text is inside strings: jump to the next quote, not a character at a time.
        i = stringEnd(text, escaped ? i + 1 : i);
        escaped = false;
        if (i < 0) {
          escaped = i === ESCAPED_AT_END;
          break;
        }
        inString = false;
        continue;
      }
      const c = text.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) continue;
      if (closed) fail('text after the array');
      if (!opened) {
        if (c !== 91 /* [ */) fail('the body does not start with [');
        opened = true;
        depth = 1;
        continue;
      }
      if (depth === 1) {
        if (c === 44 /* , */) continue;
        if (c === 93 /* ] */) {
          closed = true;
          depth = 0;
          continue;
        }
        if (c !== 123 /* { */ && c !== 91) fail('an element that is not an object');
        start = i;
        depth = 2;
        continue;
      }
      if (c === 34) inString = true;
      else if (c === 123 || c === 91) depth++;
      else if (c === 125 /* } */ || c === 93) {
        depth--;
        if (depth === 1) {
          batch.push(carry + text.slice(start, i + 1));
          carry = '';
          start = -1;
        }
      }
    }
    if (depth > 1) carry += text.slice(start);
    if (batch.length > 0) yield batch;
  }
  if (!closed) fail('the body ended before the array did');
}

/** `stringEnd`'s answers when the string goes on in the next chunk (and whether its first character there is escaped). */
const OPEN_AT_END = -1;
const ESCAPED_AT_END = -2;

/**
 * The index of the quote closing a string whose text continues at `from` (any backslash before
 * `from` already accounted for), or OPEN_AT_END / ESCAPED_AT_END when this text ends first.
 */
function stringEnd(text: string, from: number): number {
  for (let at = from; ; ) {
    const q = text.indexOf('"', at);
    if (q < 0) return backslashesBefore(text, text.length, from) % 2 === 1 ? ESCAPED_AT_END : OPEN_AT_END;
    if (backslashesBefore(text, q, from) % 2 === 0) return q;
    at = q + 1;
  }
}

/** How many backslashes come right before `end`, counting no further back than `from`. */
function backslashesBefore(text: string, end: number, from: number): number {
  let n = 0;
  while (end - n - 1 >= from && text.charCodeAt(end - n - 1) === 92 /* \ */) n++;
  return n;
}
