import { describe, expect, it } from 'vitest';
import { isVyxError } from '../../src/errors/vyx-error.ts';
import { formatImageRef, isCredentialHost, parseImage, parseImageRef } from '../../src/fly/image-ref.ts';
import { registryAccess } from '../../src/fly/registry-access.ts';

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

describe('parseImage: the one parser of image input, with the registry policy', () => {
  const policy = { credentialHosts: ['registry.fly.io'], allowedHosts: ['ghcr.io'] };
  const refuse = (input: string, code: string) => {
    try {
      parseImage(input, policy);
    } catch (error) {
      expect(isVyxError(error, code), `${input}: ${(error as Error).message}`).toBe(true);
      return (error as Error).message;
    }
    throw new Error(`accepted ${input}`);
  };

  it('refuses path-like references, empty tags and malformed digests', () => {
    for (const bad of [
      '../../etc',
      '..',
      './app',
      'registry.fly.io/../etc:latest',
      'registry.fly.io/vyx-app:',
      'registry.fly.io/vyx-app@sha256:abc',
      `registry.fly.io/vyx-app@md5:${'a'.repeat(32)}`,
      `registry.fly.io/vyx-app@sha256:${'A'.repeat(64)}`,
      'registry..fly.io/vyx-app:v1',
      '-bad.io/app:v1',
      'x'.repeat(600),
    ]) {
      refuse(bad, 'IMAGE_REF_INVALID');
    }
  });

  it('refuses a registry neither Fly nor allow-listed, naming what to do', () => {
    const message = refuse('127.0.0.1:47999/evil/exfil:latest', 'IMAGE_REGISTRY_NOT_ALLOWED');
    expect(message).toContain('127.0.0.1:47999');
    refuse('docker.io/library/ubuntu:22.04', 'IMAGE_REGISTRY_NOT_ALLOWED');
    refuse('localhost/app:v1', 'IMAGE_REGISTRY_NOT_ALLOWED');
  });

  it('accepts the Fly registry and allow-listed ones', () => {
    expect(parseImage('vyx-app:v42', policy).registry).toBe('registry.fly.io');
    expect(parseImage('ghcr.io/team/app:v1', policy).registry).toBe('ghcr.io');
    expect(isCredentialHost('ghcr.io', policy)).toBe(false);
    expect(isCredentialHost('registry.fly.io', policy)).toBe(true);
  });
});

describe('registryAccess: the token only to Fly', () => {
  it('gives the token to registry.fly.io and the emulator, contacts allow-listed hosts anonymously', () => {
    const local = registryAccess({
      defaultImage: 'registry.fly.io/vyx-app:latest',
      allowedRegistries: ['ghcr.io'],
      emulatorOrigin: 'http://127.0.0.1:4280',
    });
    expect(local.policy.credentialHosts).toEqual(['registry.fly.io', '127.0.0.1:4280']);
    expect(local.policy.allowedHosts).toEqual(['ghcr.io']);
    // The emulator stands for its own registry host only; any other host is the real one.
    expect(local.baseUrlFor('registry.fly.io')).toBe('http://127.0.0.1:4280');
    expect(local.baseUrlFor('127.0.0.1:4280')).toBe('http://127.0.0.1:4280');
    expect(local.baseUrlFor('127.0.0.1:47999')).toBe('https://127.0.0.1:47999');
    expect(local.baseUrlFor('ghcr.io')).toBe('https://ghcr.io');
  });

  it('a FLY_IMAGE on another registry is usable but never gets the Fly token', () => {
    const access = registryAccess({ defaultImage: 'ghcr.io/team/runtime:v3' });
    expect(access.policy.credentialHosts).toEqual(['registry.fly.io']);
    expect(access.policy.allowedHosts).toEqual(['ghcr.io']);
    expect(access.baseUrlFor('registry.fly.io')).toBe('https://registry.fly.io');
  });
});
