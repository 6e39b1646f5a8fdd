/** One sample of a Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * Parses the Prometheus text format (0.0.4) strictly: HELP/TYPE lines, samples with labels and a
 * float value; throws on any line it does not understand, on a sample of an undeclared family and
 * on a family declared twice.
 */
export function parsePrometheus(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    if (line === '') continue;
    const where = `line ${i + 1}: ${line}`;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) throw new Error(`bad comment, ${where}`);
      if (!NAME.test(m[2]!)) throw new Error(`bad metric name, ${where}`);
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3]!)) {
          throw new Error(`bad type, ${where}`);
        }
        if (types.has(m[2]!)) throw new Error(`family declared twice, ${where}`);
        types.set(m[2]!, m[3]!);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    if (!m) throw new Error(`bad sample, ${where}`);
    const labels: Record<string, string> = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
      let consumed = 0;
      for (let l = re.exec(m[3]); l; l = re.exec(m[3])) {
        labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        consumed = re.lastIndex;
      }
      if (consumed !== m[3].length) throw new Error(`bad labels, ${where}`);
    }
    const raw = m[4]!;
    // Values as Prometheus reads them (Go's ParseFloat: Inf and NaN in any letter case; prom-client
    // writes an empty event-loop histogram's mean as `Nan`).
    const special = /^([+-]?)(inf|infinity)$/i.exec(raw);
    const value = special
      ? special[1] === '-'
        ? -Infinity
        : Infinity
      : /^nan$/i.test(raw)
        ? Number.NaN
        : /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw)
          ? Number(raw)
          : undefined;
    if (value === undefined) throw new Error(`bad value, ${where}`);
    const name = m[1]!;
    const family = [...types.keys()].find(
      (f) =>
        name === f ||
        (/_(bucket|sum|count|created|total)$/.test(name) &&
          name.replace(/_(bucket|sum|count|created)$/, '') === f),
    );
    if (!family) throw new Error(`sample of an undeclared family, ${where}`);
    samples.push({ name, labels, value });
  }
  return { types, samples };
}

/** The value of one sample (0 when absent: a counter that never moved). */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return found.reduce((sum, s) => sum + s.value, 0);
}
