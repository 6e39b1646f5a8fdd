import { describe, expect, it } from 'vitest';
import { diagnose } from '../../../src/diagnose/diagnose.ts';
import { imageRepositoryMissing } from '../../../src/diagnose/rules/image-repository-missing.ts';
import { imageTagMissing } from '../../../src/diagnose/rules/image-tag-missing.ts';
import type { ImageCheck } from '../../../src/fly/registry-client.ts';
import { imageMissing, input } from '../fixtures.ts';

const repoMissing: ImageCheck = {
  status: 'missing',
  reason: 'NAME_UNKNOWN: repository name not known to registry',
  imageRef: 'registry.fly.io/vyx-ap:latest',
  httpStatus: 404,
  errorCode: 'NAME_UNKNOWN',
};

describe('IMAGE_REPOSITORY_MISSING', () => {
  it('a typo in the app name (NAME_UNKNOWN): the fix is the repository, not a tag', () => {
    const d = diagnose(
      input({ machine: null, imageCheck: repoMissing, row: { image: repoMissing.imageRef } }),
    );
    expect(d.code).toBe('IMAGE_REPOSITORY_MISSING');
    expect(d.certainty).toBe('certain');
    expect(d.summary).toBe(
      'The repository vyx-ap does not exist on registry.fly.io, so no tag of registry.fly.io/vyx-ap:latest can be pulled and the machine could not start.',
    );
    const facts = Object.fromEntries(d.evidence.map((e) => [e.fact, e.value]));
    expect(facts['registry answer']).toBe('404: NAME_UNKNOWN: repository name not known to registry');
    expect(d.fix).toContain('Fix the repository name');
    expect(d.fix).toContain('fly apps list');
    expect(d.fix).toContain('fly deploy --build-only --push -a vyx-ap');
    expect(d.fix).not.toMatch(/push the image with that tag/i);
  });

  it('is not a missing tag, and a missing tag is not a missing repository', () => {
    expect(imageTagMissing(input({ imageCheck: repoMissing }))).toBeNull();
    expect(imageRepositoryMissing(input({ imageCheck: imageMissing() }))).toBeNull();
    const tag = diagnose(input({ machine: null, imageCheck: imageMissing() }));
    expect(tag.code).toBe('IMAGE_TAG_MISSING');
    expect(tag.summary).toContain('its repository does, the tag stub does not');
    expect(tag.fix).toContain('--image-label stub');
    expect(tag.fix).not.toContain('Fix the repository');
  });
});
