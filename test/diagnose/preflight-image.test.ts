import { describe, expect, it } from 'vitest';
import { preflightImage } from '../../src/diagnose/preflight-image.ts';
import type { ImageCheck } from '../../src/fly/registry-client.ts';
import { IMAGE, NOW } from './fixtures.ts';

const missing = (errorCode: string): ImageCheck => ({
  status: 'missing',
  reason: `${errorCode}: x`,
  imageRef: IMAGE,
  httpStatus: 404,
  errorCode,
});
const unknown: ImageCheck = {
  status: 'unknown',
  reason: 'the registry refused the credentials (401)',
  imageRef: IMAGE,
  httpStatus: 401,
  errorCode: 'UNAUTHORIZED',
};

describe('preflightImage: /vyx start’s answer to the registry’s answer', () => {
  it('goes ahead when the image exists, in either mode', () => {
    const exists: ImageCheck = { status: 'exists', digest: 'sha256:1', imageRef: IMAGE };
    expect(preflightImage(exists, 'refuse', NOW)).toEqual({ kind: 'go' });
    expect(preflightImage(exists, 'warn', NOW)).toEqual({ kind: 'go' });
  });

  it('a missing tag and a missing repository refuse with their own code and fix', () => {
    const tag = preflightImage(missing('MANIFEST_UNKNOWN'), 'warn', NOW);
    const repo = preflightImage(missing('NAME_UNKNOWN'), 'warn', NOW);
    if (tag.kind !== 'refuse' || repo.kind !== 'refuse') throw new Error('expected refusals');
    expect(tag.diagnosis.code).toBe('IMAGE_TAG_MISSING');
    expect(tag.diagnosis.fix).toContain('Push the image with that tag');
    expect(repo.diagnosis.code).toBe('IMAGE_REPOSITORY_MISSING');
    expect(repo.diagnosis.summary).toBe(
      'The repository vyx-app does not exist on registry.fly.io, so I did not create a machine that could not start.',
    );
    expect(repo.diagnosis.fix).toContain('Fix the repository name');
  });

  it('an unverifiable answer warns by default, with the status, the registry’s code and the fix', () => {
    const v = preflightImage(unknown, 'warn', NOW);
    expect(v).toEqual({
      kind: 'warn',
      warning: expect.stringContaining(
        `I could not check the image ${IMAGE} (the registry answered 401 UNAUTHORIZED); starting it anyway.`,
      ),
    });
    if (v.kind === 'warn') expect(v.warning).toContain('set FLY_API_TOKEN');
  });

  it('refuses it with VYX_PREFLIGHT_UNVERIFIED=refuse, never as "missing"', () => {
    const v = preflightImage(unknown, 'refuse', NOW);
    if (v.kind !== 'refuse') throw new Error('expected a refusal');
    expect(v.diagnosis.code).toBe('IMAGE_UNVERIFIED');
    expect(v.diagnosis.certainty).toBe('possible');
    expect(v.diagnosis.summary).toContain('VYX_PREFLIGHT_UNVERIFIED=refuse');
    expect(v.diagnosis.evidence.map((e) => e.value)).toContain(
      '401 UNAUTHORIZED: the registry refused the credentials (401)',
    );
  });
});
