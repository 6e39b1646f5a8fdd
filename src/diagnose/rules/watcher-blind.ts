import { errorLine } from '../../errors/error-line.ts';
import { isVyxError } from '../../errors/vyx-error.ts';
import type { Diagnosis } from '../diagnosis.ts';

/**
 * The watcher itself cannot list machines from Fly: one diagnosis for the whole watcher (not one per
 * row), naming each app it could not list and why; the first coded error's suggestion is the fix.
 */
export function watcherBlind(input: { failedApps: Map<string, unknown>; now: Date }): Diagnosis {
  const at = input.now.toISOString();
  const first = [...input.failedApps.values()][0];
  return {
    code: 'WATCHER_BLIND',
    summary: `The watcher cannot see Fly (${[...input.failedApps.keys()].join(', ')}), so stuck machines are not being checked.`,
    evidence: [...input.failedApps].map(([app, err]) => ({
      fact: `listing ${app}`,
      value: errorLine(err),
      source: 'fly' as const,
      at,
    })),
    fix: isVyxError(first) ? first.suggestion : 'Check FLY_API_TOKEN and that the Machines API is reachable.',
    certainty: 'certain',
  };
}
