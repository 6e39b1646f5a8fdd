import { describe, expect, it } from 'vitest';
import { isVyxError } from '../../src/errors/vyx-error.ts';
import { formatImageRef, parseImageRef } from '../../src/fly/image-ref.ts';

describe('parseImageRef', () => {
  it('reads Fly registry references', () => {
    expect(parseImageRef('registry.fly.io/vyx-app:stub')).toEqual({
      registry: 'registry.fly.io',
      repository: 'vyx-app',
      tag: 'stub',
      digest: undefined,
    });
    expect(parseImageRef('registry.fly.io/vyx-app:deployment-01K6JV132H7B7Y5PP8Y5QSR23X').tag).toBe(
      'deployment-01K6JV132H7B7Y5PP8Y5QSR23X',
    );
  });

  it("defaults to Fly's registry and the latest tag", () => {
    expect(parseImageRef('vyx-app')).toEqual({
      registry: 'registry.fly.io',
      repository: 'vyx-app',
      tag: 'latest',
      digest: undefined,
    });
    expect(parseImageRef('flyio/fastify-functions').repository).toBe('flyio/fastify-functions');
  });

  it('reads hosts with ports, localhost, tags and digests together', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(parseImageRef(`127.0.0.1:5000/team/app:v1@${digest}`)).toEqual({
      registry: '127.0.0.1:5000',
      repository: 'team/app',
      tag: 'v1',
      digest,
    });
    expect(parseImageRef(`localhost/app@${digest}`)).toEqual({
      registry: 'localhost',
      repository: 'app',
      tag: undefined,
      digest,
    });
    expect(formatImageRef(parseImageRef(`registry-1.docker.io/library/ubuntu:latest@${digest}`))).toBe(
      `registry-1.docker.io/library/ubuntu:latest@${digest}`,
    );
  });

  it('rejects what is not a reference, with a coded error', () => {
    for (const bad of ['', 'Registry.fly.io/UPPER:tag', 'registry.fly.io/app:bad tag', 'app@notadigest']) {
      try {
        parseImageRef(bad);
        throw new Error(`accepted ${bad}`);
      } catch (error) {
        expect(isVyxError(error, 'IMAGE_REF_INVALID')).toBe(true);
      }
    }
  });
});
