import type { DiagnosisRule } from '../diagnosis.ts';
import { fact, machineEvidence, registryAnswer, rowEvidence } from '../evidence.ts';

/**
 * The registry answered an authenticated 404 for the image: Fly accepted the create, the launch
 * failed, and with auto_destroy the machine vanished (incident 001). A 401/5xx never lands here:
 * the registry client calls those `unknown`, not `missing`.
 */
export const imageTagMissing: DiagnosisRule = (input) => {
  const check = input.imageCheck;
  if (check?.status !== 'missing') return null;
  const gone = input.machine === null ? 'no machine on Fly (destroyed or never launched)' : undefined;
  return {
    code: 'IMAGE_TAG_MISSING',
    summary: `The image ${check.imageRef} does not exist in the registry, so the machine could not start.`,
    evidence: [
      ...rowEvidence(input),
      fact(input, 'image', check.imageRef, 'registry'),
      fact(input, 'registry answer', registryAnswer(check), 'registry'),
      ...(input.machine ? machineEvidence(input, input.machine) : [fact(input, 'Fly machine', gone!, 'fly')]),
    ],
    fix: `Push the image with that tag (or point the provisioner at a tag that exists), then /vyx start again. Pin machines to an immutable tag and keep :latest moving.`,
    certainty: 'certain',
  };
};
