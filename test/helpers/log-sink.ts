import { Writable } from 'node:stream';

/** Every line the logger wrote, kept in memory (and scanned for secrets by the tests). */
export function logSink(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { stream, lines };
}
