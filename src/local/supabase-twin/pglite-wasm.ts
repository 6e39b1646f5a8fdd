import { readFile } from 'node:fs/promises';

/** A compiled WebAssembly.Module (the project's TypeScript lib declares no WebAssembly types). */
export type WasmModule = object;

declare const WebAssembly: { compile(bytes: Uint8Array): Promise<WasmModule> };

/**
 * PGlite's WebAssembly, compiled: what every PGlite.create otherwise reads and compiles itself
 * (~0.1 s), here without loading PGlite, so it can start before anything else is known.
 */
export async function compilePgliteWasm(): Promise<WasmModule> {
  const file = new URL('./pglite.wasm', import.meta.resolve('@electric-sql/pglite'));
  return WebAssembly.compile(await readFile(file));
}
