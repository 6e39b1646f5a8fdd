import type { DiagnosisRule } from '../diagnosis.ts';
import { imageEvidence } from '../evidence.ts';
import { imageParts, tagMissingFix } from '../image-fixes.ts';

/**
 * The registry answered an authenticated 404 for the image's tag (the repository exists): Fly
 * accepted the create, the launch failed, and with auto_destroy the machine vanished (incident
 * 001). A missing repository (NAME_UNKNOWN) is IMAGE_REPOSITORY_MISSING; a 401/5xx never lands
 * here: the registry client calls those `unknown`, not `missing`.
 */
export const imageTagMissing: DiagnosisRule = (input) => {
  const check = input.imageCheck;
  if (check?.status !== 'missing' || check.errorCode === 'NAME_UNKNOWN') return null;
  const { tag } = imageParts(check.imageRef);
  return {
    code: 'IMAGE_TAG_MISSING',
    summary: `The image ${check.imageRef} does not exist in the registry (its repository does, the tag${tag ? ` ${tag}` : ''} does not), so the machine could not start.`,
    evidence: imageEvidence(input, check, 'no machine on Fly (destroyed or never launched)'),
    fix: tagMissingFix(check.imageRef),
    certainty: 'certain',
  };
};
