import { describe, expect, it } from 'vitest';
import { stuckTransition } from '../../../src/diagnose/rules/stuck-transition.ts';
import { events, input, machine } from '../fixtures.ts';

describe('STUCK_TRANSITION', () => {
  it('Fly kept the machine in created past its five-minute line', () => {
    const d = stuckTransition(
      input({ machine: machine({ state: 'created', events: [events.launch(400)] }) }),
    );
    expect(d?.code).toBe('STUCK_TRANSITION');
    expect(d?.summary).toContain('in created for 7 min');
    expect(d?.certainty).toBe('likely');
  });

  it('not before the line, and not in other states', () => {
    expect(
      stuckTransition(input({ machine: machine({ state: 'starting', events: [events.launch(200)] }) })),
    ).toBeNull();
    expect(
      stuckTransition(input({ machine: machine({ state: 'started', events: [events.start(900)] }) })),
    ).toBeNull();
  });
});
