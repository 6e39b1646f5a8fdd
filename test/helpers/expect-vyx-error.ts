import { expect } from 'vitest';
import { VyxError } from '../../src/errors/vyx-error.ts';

/** Awaits a promise that must reject with a VyxError of this code; returns the error. */
export async function expectVyxError(promise: Promise<unknown>, code: string): Promise<VyxError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected a ${code} error`).toBeInstanceOf(VyxError);
  expect((err as VyxError).code).toBe(code);
  expect((err as VyxError).suggestion.length).toBeGreaterThan(0);
  return err as VyxError;
}
