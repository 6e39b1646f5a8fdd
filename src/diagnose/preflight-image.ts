import type { ImageCheck } from '../fly/registry-answer.ts';
import type { Diagnosis, Evidence } from './diagnosis.ts';
import { registryAnswer } from './evidence.ts';
import {
  imageParts,
  repositoryMissingFix,
  tagMissingFix,
  unverifiedFix,
  unverifiedInWords,
} from './image-fixes.ts';

/** `VYX_PREFLIGHT_UNVERIFIED`: what /vyx start does when the registry cannot say whether the image exists. */
export type PreflightUnverified = 'refuse' | 'warn';

export type ImagePreflight =
  | { kind: 'go' }
  /** Nothing is created; the person is shown the diagnosis. */
  | { kind: 'refuse'; diagnosis: Diagnosis }
  /** The machine is created, and the person is told in the card that its image could not be checked. */
  | { kind: 'warn'; warning: string };

/**
 * /vyx start's answer to the registry's answer: a missing tag or repository refuses with its own
 * fix; an answer that could not verify (401, 403, 5xx, timeout) refuses or warns as configured —
 * never silently, and never as "missing".
 */
export function preflightImage(check: ImageCheck, mode: PreflightUnverified, now: Date): ImagePreflight {
  if (check.status === 'exists') return { kind: 'go' };
  const at = now.toISOString();
  const evidence: Evidence[] = [
    { fact: 'image', value: check.imageRef, source: 'registry', at },
    { fact: 'registry answer', value: registryAnswer(check), source: 'registry', at },
  ];
  if (check.status === 'missing') {
    const repository = check.errorCode === 'NAME_UNKNOWN';
    const { registry, repository: repo } = imageParts(check.imageRef);
    return {
      kind: 'refuse',
      diagnosis: repository
        ? {
            code: 'IMAGE_REPOSITORY_MISSING',
            summary: `The repository ${repo} does not exist on ${registry}, so I did not create a machine that could not start.`,
            evidence,
            fix: repositoryMissingFix(check.imageRef),
            certainty: 'certain',
          }
        : {
            code: 'IMAGE_TAG_MISSING',
            summary: `The image ${check.imageRef} does not exist in the registry (its repository does, the tag does not), so I did not create a machine that could not start.`,
            evidence,
            fix: tagMissingFix(check.imageRef),
            certainty: 'certain',
          },
    };
  }
  if (mode === 'refuse') {
    return {
      kind: 'refuse',
      diagnosis: {
        code: 'IMAGE_UNVERIFIED',
        summary: `I could not check the image ${check.imageRef} (${unverifiedInWords(check)}), and this bot is set to refuse unchecked images (VYX_PREFLIGHT_UNVERIFIED=refuse), so I did not create a machine.`,
        evidence,
        fix: `${unverifiedFix(check)} Then /vyx start again.`,
        certainty: 'possible',
      },
    };
  }
  return {
    kind: 'warn',
    warning: `I could not check the image ${check.imageRef} (${unverifiedInWords(check)}); starting it anyway. If the machine does not boot, this is the likely reason. ${unverifiedFix(check)}`,
  };
}
