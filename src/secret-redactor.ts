/**
 * Redaction by path, compiled once: pino's own `redact` (pino 10, @pinojs/redact) parses every path
 * again on every line and, with paths that start with `*`, runs all of them for each key of each
 * line — a third of what the bot allocated per `/vyx` command. This walks a line's object only as
 * deep as some path reaches, and copies only what it censors (the caller's objects stay as they were).
 *
 * Paths are pino's: `a.b`, `*.b`, `a["x-y"]`; `*` is any key of an object or any index of an array.
 */
interface PathNode {
  keys: Map<string, PathNode>;
  star?: PathNode;
  /** A path ends here: the value at this key is censored. */
  end: boolean;
}

const newNode = (): PathNode => ({ keys: new Map(), end: false });

/** `a.b["x-y"].*` → ['a', 'b', 'x-y', '*']. */
export function pathSegments(path: string): string[] {
  const out: string[] = [];
  const re = /\[\s*(["'`])(.*?)\1\s*\]|\[(\d+)\]|([^.[\]]+)/g;
  for (const m of path.matchAll(re)) out.push(m[2] ?? m[3] ?? m[4]!);
  return out;
}

function compile(paths: readonly string[]): PathNode {
  const root = newNode();
  for (const path of paths) {
    let node = root;
    for (const seg of pathSegments(path)) {
      if (seg === '*') {
        node.star ??= newNode();
        node = node.star;
      } else {
        let next = node.keys.get(seg);
        if (!next) {
          next = newNode();
          node.keys.set(seg, next);
        }
        node = next;
      }
    }
    node.end = true;
  }
  return root;
}

/** Objects walked into: plain objects, arrays and errors; not buffers, maps, dates or class instances' internals. */
function walkable(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return false;
  if (Array.isArray(v) || v instanceof Error) return true;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A shallow copy that keeps what an error is (its prototype, message and stack). */
function shallowCopy<T extends object>(v: T): T {
  if (Array.isArray(v)) return v.slice() as T;
  if (v instanceof Error) {
    const copy = Object.create(Object.getPrototypeOf(v), Object.getOwnPropertyDescriptors(v));
    // V8's `stack` reads the original error's hidden state: copied, it would read nothing.
    Object.defineProperty(copy, 'stack', { value: v.stack, writable: true, configurable: true });
    return copy;
  }
  return { ...v };
}

/** Does a path end at `key` under one of `nodes`? */
function endsAt(nodes: readonly PathNode[], key: string): boolean {
  for (const node of nodes) if (node.keys.get(key)?.end || node.star?.end) return true;
  return false;
}

const leadsDeeper = (n: PathNode | undefined): n is PathNode =>
  n !== undefined && (n.keys.size > 0 || !!n.star);

/** The nodes under `key` that lead deeper, or undefined when none does. */
function deeper(nodes: readonly PathNode[], key: string): PathNode[] | undefined {
  let out: PathNode[] | undefined;
  for (const node of nodes) {
    for (const n of [node.keys.get(key), node.star]) {
      if (!leadsDeeper(n)) continue;
      out ??= [];
      out.push(n);
    }
  }
  return out;
}

function redactIn(obj: Record<string, unknown>, nodes: readonly PathNode[], censor: string): object {
  let copy: Record<string, unknown> | undefined;
  for (const key in obj) {
    if (!Object.hasOwn(obj, key)) continue;
    const value = obj[key];
    let replaced: unknown = value;
    if (endsAt(nodes, key)) replaced = censor;
    else if (walkable(value)) {
      const next = deeper(nodes, key);
      if (next) replaced = redactIn(value, next, censor);
    }
    if (replaced !== value) {
      copy ??= shallowCopy(obj);
      copy[key] = replaced;
    }
  }
  return copy ?? obj;
}

/** The redactor of `paths`: the object itself when nothing in it matches, else a copy with `censor` in place. */
export function createSecretRedactor(
  paths: readonly string[],
  censor: string,
): <T extends object>(obj: T) => T {
  const root = [compile(paths)];
  return <T extends object>(obj: T): T =>
    (walkable(obj) ? redactIn(obj as Record<string, unknown>, root, censor) : obj) as T;
}
