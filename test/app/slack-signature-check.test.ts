import { verifySlackRequest } from '@slack/bolt/dist/receivers/verify-request.js';
import { describe, expect, it } from 'vitest';
import { createSlackSignatureCheck } from '../../src/app/inbound/slack-signature-check.ts';
import { sign } from '../../testkit/slack-signature.ts';

const SECRET = 'test-signing-secret-0123456789';
const NOW_MS = 1_780_000_000_000;
const now = Math.floor(NOW_MS / 1000);
const body = 'command=%2Fvyx&text=help&user_id=U1';

/** Bolt's own verdict on the same request (the check it replaces). */
function boltAccepts(b: string, signature: string, timestamp: string): boolean {
  try {
    verifySlackRequest({
      signingSecret: SECRET,
      body: b,
      headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': Number(timestamp) },
      nowMilliseconds: NOW_MS,
    });
    return true;
  } catch {
    return false;
  }
}

describe('Slack signature check', () => {
  const check = createSlackSignatureCheck(SECRET, () => NOW_MS);
  const good = sign(SECRET, now, body);

  it('accepts what Slack signs, as Bolt does', () => {
    for (const [b, ts] of [
      [body, now],
      ['', now],
      ['{"type":"event_callback","text":"héllo ✓"}', now - 299],
    ] as const) {
      expect(() => check(b, sign(SECRET, ts, b), String(ts))).not.toThrow();
      expect(boltAccepts(b, sign(SECRET, ts, b), String(ts))).toBe(true);
    }
  });

  it.each([
    ['another secret', body, sign('not-the-secret', now, body), String(now), /mismatch/],
    ['a changed body', `${body}&x=1`, good, String(now), /mismatch/],
    ['another timestamp', body, good, String(now - 1), /mismatch/],
    ['six minutes old', body, sign(SECRET, now - 360, body), String(now - 360), /5 minutes/],
    ['an unknown version', body, good.replace('v0=', 'v1='), String(now), /v0/],
    ['garbage after the hash', body, `${good}zz`, String(now), /v0/],
    ['a short hash', body, good.slice(0, -2), String(now), /v0/],
    ['upper-case hex', body, `v0=${good.slice(3).toUpperCase()}`, String(now), /v0|mismatch/],
    ['a timestamp that is no number', body, good, 'soon', /number/],
    ['an empty signature', body, '', String(now), /v0/],
  ])('refuses %s, as Bolt does', (_what, b, signature, timestamp, why) => {
    expect(() => check(b, signature, timestamp)).toThrow(why);
    expect(boltAccepts(b, signature, timestamp)).toBe(false);
  });

  it('refuses a timestamp more than 5 minutes ahead (Bolt lets it through; Slack says refuse)', () => {
    const ahead = now + 360;
    expect(() => check(body, sign(SECRET, ahead, body), String(ahead))).toThrow(/5 minutes/);
  });

  it('needs a signing secret', () => {
    expect(() => createSlackSignatureCheck('')).toThrow(/empty/);
  });
});
