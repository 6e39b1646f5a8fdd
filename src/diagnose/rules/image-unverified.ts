import type { DiagnosisRule } from '../diagnosis.ts';
import { flyEventTexts, imageEvidence, neverStarted } from '../evidence.ts';
import { unverifiedFix, unverifiedInWords } from '../image-fixes.ts';

/**
 * The machine never ran and the registry could not say whether its image exists (401, 403, 5xx,
 * timeout, unreachable). That is evidence of an unanswered question, never grounds for a
 * confident other code: the card says the image could not be checked, why, and how to make the
 * check possible. Only a guess: the image may well exist and Fly failed for another reason.
 */
export const imageUnverified: DiagnosisRule = (input) => {
  const check = input.imageCheck;
  if (check?.status !== 'unknown' || !neverStarted(input.machine)) return null;
  const flyText = input.machine ? flyEventTexts(input.machine)[0] : undefined;
  return {
    code: 'IMAGE_UNVERIFIED',
    summary: `The machine never started and the image ${check.imageRef} could not be checked: ${unverifiedInWords(check)}${flyText ? `. Fly said: ${flyText}` : ''}.`,
    evidence: imageEvidence(input, check, 'none found (destroyed or never launched)'),
    fix: `${unverifiedFix(check)} Then run /vyx diagnose again: it will say whether the image exists.`,
    certainty: 'possible',
  };
};
