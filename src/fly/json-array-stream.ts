/**
 * The elements of a JSON array body, one at a time, as their JSON text: a 10,000-machine list is
 * ~12.6 MB of text; read this way only one chunk and one element are held at once, never the whole
 * body nor the whole parsed array. Elements must be objects or arrays (Fly's lists are arrays of
 * objects); anything else, or a body that is not one array, throws a SyntaxError.
 */
export async function* jsonArrayElements(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<string> {
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
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 92 /* \ */) escaped = true;
        else if (c === 34 /* " */) inString = false;
        continue;
      }
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
          yield carry + text.slice(start, i + 1);
          carry = '';
          start = -1;
        }
      }
    }
    if (depth > 1) carry += text.slice(start);
  }
  if (!closed) fail('the body ended before the array did');
}
