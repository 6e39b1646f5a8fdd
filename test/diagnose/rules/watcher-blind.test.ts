import { describe, expect, it } from 'vitest';
import { watcherBlind } from '../../../src/diagnose/rules/watcher-blind.ts';
import { VyxError } from '../../../src/errors/vyx-error.ts';

const now = new Date('2026-03-01T12:00:00Z');

describe('WATCHER_BLIND', () => {
  it('one diagnosis naming every app Fly would not list, each with its coded cause; the first suggestion is the fix', () => {
    const refused = new VyxError('FLY_UNAUTHORIZED', 'Fly rejected the API token (401)', {
      suggestion: 'Check that FLY_API_TOKEN is set to a valid, unexpired Fly token.',
    });
    const d = watcherBlind({
      failedApps: new Map<string, unknown>([
        ['vyx-app', refused],
        ['other-app', new Error('socket hang up')],
      ]),
      now,
    });
    expect(d.code).toBe('WATCHER_BLIND');
    expect(d.certainty).toBe('certain');
    expect(d.summary).toBe(
      'The watcher cannot see Fly (vyx-app, other-app), so stuck machines are not being checked.',
    );
    expect(d.evidence).toEqual([
      {
        fact: 'listing vyx-app',
        value: 'FLY_UNAUTHORIZED: Fly rejected the API token (401)',
        source: 'fly',
        at: now.toISOString(),
      },
      { fact: 'listing other-app', value: 'socket hang up', source: 'fly', at: now.toISOString() },
    ]);
    expect(d.fix).toBe('Check that FLY_API_TOKEN is set to a valid, unexpired Fly token.');
  });

  it('an uncoded first failure: the fix points at the token and the Machines API', () => {
    const d = watcherBlind({ failedApps: new Map([['vyx-app', new Error('ECONNREFUSED')]]), now });
    expect(d.fix).toBe('Check FLY_API_TOKEN and that the Machines API is reachable.');
  });
});
