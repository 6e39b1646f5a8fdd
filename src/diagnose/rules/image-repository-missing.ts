import type { DiagnosisRule } from '../diagnosis.ts';
import { imageEvidence } from '../evidence.ts';
import { imageParts, repositoryMissingFix } from '../image-fixes.ts';

/**
 * The registry answered an authenticated 404 NAME_UNKNOWN: the repository itself does not exist
 * (on registry.fly.io the repository is the app's name, so usually a typo in the app name). Pushing
 * "that tag" cannot help: the name has to be fixed, or the app created and the image pushed to it.
 */
export const imageRepositoryMissing: DiagnosisRule = (input) => {
  const check = input.imageCheck;
  if (check?.status !== 'missing' || check.errorCode !== 'NAME_UNKNOWN') return null;
  const where = imageParts(check.imageRef);
  return {
    code: 'IMAGE_REPOSITORY_MISSING',
    summary: `The repository ${where.repository} does not exist on ${where.registry}, so no tag of ${check.imageRef} can be pulled and the machine could not start.`,
    evidence: imageEvidence(input, check, 'no machine on Fly (destroyed or never launched)'),
    fix: repositoryMissingFix(check.imageRef),
    certainty: 'certain',
  };
};
