import { describe, expect, it } from 'vitest';
import { diagnose } from '../../../src/diagnose/diagnose.ts';
import type { ImageCheck } from '../../../src/fly/registry-client.ts';
import { events, IMAGE, input, machine } from '../fixtures.ts';

const unknown = (httpStatus: number | undefined, errorCode?: string, reason = 'x'): ImageCheck => ({
  status: 'unknown',
  reason,
  imageRef: IMAGE,
  ...(httpStatus === undefined ? {} : { httpStatus }),
  ...(errorCode ? { errorCode } : {}),
});

const ANSWERS: [string, ImageCheck, RegExp][] = [
  ['401 UNAUTHORIZED', unknown(401, 'UNAUTHORIZED'), /refused the bot’s credentials: set FLY_API_TOKEN/],
  ['403 DENIED', unknown(403, 'DENIED'), /may not read this repository/],
  ['503', unknown(503), /registry is failing: check https:\/\/status\.flyio\.net/],
  [
    'a timeout',
    unknown(undefined, undefined, 'the registry did not answer within 10000 ms'),
    /did not answer: check that the bot reaches it/,
  ],
];

/** How a machine whose image could not be pulled looks: Fly's launch failed, then destroyed. */
const pullFailed = (state: string) =>
  machine({
    state,
    events: [
      events.destroy(10),
      {
        type: 'launch',
        status: 'failed',
        source: 'flyd',
        timestamp: Date.parse('2026-11-23T11:59:49.000Z'),
        request: { error: `failed to pull image ${IMAGE}: manifest unknown` },
      },
      events.launch(12),
    ],
  });

describe('IMAGE_UNVERIFIED: an answer that cannot verify never becomes a confident other code', () => {
  it.each(ANSWERS)('registry %s, Fly machine gone (was MACHINE_GONE certain)', (_, check, fix) => {
    const d = diagnose(input({ machine: null, imageCheck: check }));
    expect(d.code).toBe('IMAGE_UNVERIFIED');
    expect(d.certainty).toBe('possible');
    expect(d.summary).toContain(`the image ${IMAGE} could not be checked`);
    expect(d.fix).toMatch(fix);
    expect(d.fix).toContain('/vyx diagnose again');
    const answer = d.evidence.find((e) => e.fact === 'registry answer')!.value;
    if (check.status === 'unknown' && check.httpStatus !== undefined) {
      expect(answer.startsWith(String(check.httpStatus))).toBe(true);
      if (check.errorCode) expect(answer).toContain(check.errorCode);
    } else {
      expect(answer).toBe('no answer: the registry did not answer within 10000 ms');
    }
  });

  it.each(ANSWERS)('registry %s, row without a Fly id: not "never created" with certainty', (_, check) => {
    const d = diagnose(input({ machine: null, imageCheck: check, row: { fly_machine_id: null } }));
    expect(d.code).toBe('IMAGE_UNVERIFIED');
  });

  it.each(ANSWERS)(
    'registry %s, launch failed: Fly’s own event text is in the evidence and the summary',
    (_, check) => {
      const d = diagnose(input({ machine: pullFailed('destroyed'), imageCheck: check }));
      expect(d.code).toBe('IMAGE_UNVERIFIED');
      expect(d.certainty).not.toBe('certain');
      const flyEvent = d.evidence.find((e) => e.fact === 'Fly event');
      expect(flyEvent?.value).toBe(`launch/failed: failed to pull image ${IMAGE}: manifest unknown`);
      expect(d.summary).toContain(`Fly said: launch/failed: failed to pull image ${IMAGE}`);
    },
  );

  it('Fly’s pull failure text is evidence under a missing tag too', () => {
    const d = diagnose(
      input({
        machine: pullFailed('failed'),
        imageCheck: {
          status: 'missing',
          reason: 'manifest unknown',
          imageRef: IMAGE,
          httpStatus: 404,
          errorCode: 'MANIFEST_UNKNOWN',
        },
      }),
    );
    expect(d.code).toBe('IMAGE_TAG_MISSING');
    expect(d.evidence.map((e) => e.value)).toContain(
      `launch/failed: failed to pull image ${IMAGE}: manifest unknown`,
    );
  });

  it('a machine that did start is judged on its own evidence (the image was pulled)', () => {
    const crashed = machine({
      state: 'stopped',
      events: [events.exit(5, 1), events.start(10), events.launch(12)],
    });
    const d = diagnose(input({ machine: crashed, imageCheck: unknown(401, 'UNAUTHORIZED') }));
    expect(d.code).toBe('BOOT_CRASH');
  });

  it('a destroyed machine that had started is MACHINE_GONE, and says the image was not verified', () => {
    const gone = machine({
      state: 'destroyed',
      events: [events.destroy(5), events.start(10), events.launch(12)],
    });
    const d = diagnose(input({ machine: gone, imageCheck: unknown(401, 'UNAUTHORIZED') }));
    expect(d.code).toBe('MACHINE_GONE');
    expect(d.evidence.find((e) => e.fact === 'registry answer')?.value).toBe(
      `${IMAGE} not verified: 401 UNAUTHORIZED: x`,
    );
  });

  it('Fly’s words inside an exit event are evidence too', () => {
    const exited = machine({
      state: 'failed',
      events: [
        {
          ...events.exit(5, 1),
          request: { exit_event: { exit_code: 1, error: `failed to pull image ${IMAGE}: unauthorized` } },
        },
        events.launch(12),
      ],
    });
    const d = diagnose(input({ machine: exited, imageCheck: unknown(401, 'UNAUTHORIZED') }));
    expect(d.code).toBe('IMAGE_UNVERIFIED');
    expect(d.evidence.map((e) => e.value)).toContain(
      `exit/stopped: failed to pull image ${IMAGE}: unauthorized`,
    );
  });
});
