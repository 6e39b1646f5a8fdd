import { describe, expect, it } from 'vitest';
import { jsonArrayElementBatches } from '../../src/fly/json-array-stream.ts';

async function elements(chunks: (string | Uint8Array)[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const batch of jsonArrayElementBatches(
    (async function* () {
      yield* chunks;
    })(),
  )) {
    // A batch is what one chunk completed: never empty.
    expect(batch.length).toBeGreaterThan(0);
    for (const text of batch) out.push(JSON.parse(text));
  }
  return out;
}

/** The text cut into pieces of `size` bytes (multi-byte characters split across pieces too). */
const cut = (text: string, size: number) => {
  const bytes = new TextEncoder().encode(text);
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
};

describe('a JSON array read element by element', () => {
  const machines = [
    { id: 'a', config: { env: { X: 'a "quoted" } brace', Y: 'back\\slash\\' } }, events: [] },
    { id: 'b', name: '[not] {a} nest', metadata: { é: 'ünïcødé ✓' } },
    { id: 'c', events: [{ request: { exit_event: { exit_code: 1 } } }, []] },
    // Runs of backslashes before quotes: only an odd run escapes the quote.
    { id: 'd', env: { Z: '\\\\"}{\\', W: '"', V: '\\\\\\' } },
  ];
  const text = ` [\n${machines.map((m) => JSON.stringify(m, null, 1)).join(' ,\n')}\n] `;

  it('gives each element whole, however the body is cut into chunks', async () => {
    for (const size of [1, 2, 3, 7, 64, text.length])
      expect(await elements(cut(text, size))).toEqual(machines);
  });

  it('reads an empty array as no elements', async () => {
    expect(await elements(['[', ' ', ']'])).toEqual([]);
  });

  it('refuses what is not one array of objects', async () => {
    await expect(elements(['{"machines": []}'])).rejects.toThrow(/does not start with \[/);
    await expect(elements(['[1, 2]'])).rejects.toThrow(/not an object/);
    await expect(elements(['[{"id": "a"}'])).rejects.toThrow(/ended before the array did/);
    await expect(elements(['[{"id": "a"}] ['])).rejects.toThrow(/text after the array/);
  });
});
