import { describe, expect, it } from 'vitest';
import { imageTagMissing } from '../../../src/diagnose/rules/image-tag-missing.ts';
import { imageExists, imageMissing, imageUnknown, input, machine } from '../fixtures.ts';

describe('IMAGE_TAG_MISSING', () => {
  it('incident 001: the :stub tag is missing and auto_destroy removed the machine', () => {
    const d = imageTagMissing(
      input({ machine: null, imageCheck: imageMissing(), row: { image: 'registry.fly.io/vyx-app:stub' } }),
    );
    expect(d?.code).toBe('IMAGE_TAG_MISSING');
    expect(d?.certainty).toBe('certain');
    expect(d?.summary).toContain('registry.fly.io/vyx-app:stub');
    const facts = Object.fromEntries(d!.evidence.map((e) => [e.fact, e.value]));
    expect(facts['registry answer']).toContain('404 MANIFEST_UNKNOWN');
    expect(facts['Fly machine']).toContain('no machine on Fly');
    expect(d?.fix).toContain('immutable tag');
  });

  it('names the machine when Fly still lists it', () => {
    const d = imageTagMissing(
      input({ machine: machine({ state: 'destroyed' }), imageCheck: imageMissing() }),
    );
    expect(d?.evidence.some((e) => e.value === '3d8d9e1bc42d89 is destroyed')).toBe(true);
  });

  it('says nothing when the registry could not tell (401, 5xx) or the tag exists', () => {
    expect(imageTagMissing(input({ imageCheck: imageUnknown }))).toBeNull();
    expect(imageTagMissing(input({ imageCheck: imageExists }))).toBeNull();
    expect(imageTagMissing(input({ imageCheck: undefined }))).toBeNull();
  });
});
