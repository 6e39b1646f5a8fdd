import type { Diagnosis, DiagnosisInput, DiagnosisRule, Evidence } from './diagnosis.ts';
import {
  fact,
  imageOf,
  machineEvidence,
  registryAnswer,
  rowEvidence,
  unmatchedWritesEvidence,
} from './evidence.ts';
import { matchEvidence } from './match-evidence.ts';
import { bootCrash } from './rules/boot-crash.ts';
import { envMismatch } from './rules/env-mismatch.ts';
import { hostUnreachable } from './rules/host-unreachable.ts';
import { imageRepositoryMissing } from './rules/image-repository-missing.ts';
import { imageTagMissing } from './rules/image-tag-missing.ts';
import { imageUnverified } from './rules/image-unverified.ts';
import { machineGone } from './rules/machine-gone.ts';
import { machineIdMismatch } from './rules/machine-id-mismatch.ts';
import { neverCreated } from './rules/never-created.ts';
import { oomKilled } from './rules/oom-killed.ts';
import { runtimeSilent } from './rules/runtime-silent.ts';
import { stuckTransition } from './rules/stuck-transition.ts';
import { unknownStatus } from './rules/unknown-status.ts';

/**
 * The rules in order: cheapest and most certain first, and causes before consequences (a missing
 * image or a misnamed variable explains the crash and the destroyed machine that follow it).
 */
export const RULES: readonly DiagnosisRule[] = [
  // A word outside the vocabulary is what the row says, whatever Fly shows: say that first.
  unknownStatus,
  imageRepositoryMissing,
  imageTagMissing,
  // Before any rule that reads a never-started machine's config: an unchecked image outranks them.
  imageUnverified,
  envMismatch,
  machineIdMismatch,
  oomKilled,
  bootCrash,
  // Before the rules that read Fly's state: with the host unreachable that state may be stale.
  hostUnreachable,
  machineGone,
  neverCreated,
  stuckTransition,
  runtimeSilent,
];

/**
 * Diagnoses a stuck row: the first rule that matches, or UNKNOWN with the raw evidence. Status
 * writes that matched no row since the row entered its status join the evidence of any finding.
 */
export function diagnose(input: DiagnosisInput): Diagnosis {
  const found = firstFinding(input);
  const more = [...alsoWrong(found, input), ...unmatchedWritesEvidence(input)];
  return more.length ? { ...found, evidence: [...found.evidence, ...more] } : found;
}

/**
 * The machine's configuration faults besides the first finding: fixed one at a time, each would
 * only surface after the last (incident 000 took four rounds), so the card names them all.
 */
function alsoWrong(found: Diagnosis, input: DiagnosisInput): Evidence[] {
  return [envMismatch, machineIdMismatch]
    .map((rule) => rule(input))
    .filter((d): d is Diagnosis => d !== null && d.code !== found.code)
    .map((d) => fact(input, 'also wrong', `${d.code}: ${d.summary}`, 'watcher'));
}

function firstFinding(input: DiagnosisInput): Diagnosis {
  for (const rule of RULES) {
    const found = rule(input);
    // Every diagnosis about a machine says which key tied it to the row.
    if (found) return found.evidence.some((e) => e.fact === 'matched by') ? found : withMatch(found, input);
  }
  const image = imageOf(input);
  return {
    code: 'UNKNOWN',
    summary: `Row ${input.row.machine_id} is stuck in ${input.row.status}, and none of the known causes matched.`,
    evidence: [
      ...rowEvidence(input),
      ...(input.machine
        ? [...matchEvidence(input), ...machineEvidence(input, input.machine)]
        : [fact(input, 'Fly machine', 'none found', 'fly')]),
      ...(image
        ? [
            fact(
              input,
              'registry',
              !input.imageCheck
                ? `not checked (${image})`
                : input.imageCheck.status === 'exists'
                  ? `exists (${image})`
                  : `${input.imageCheck.status}, ${registryAnswer(input.imageCheck)} (${image})`,
              'registry',
            ),
          ]
        : []),
    ],
    fix: `Look at the evidence, the machine’s logs (fly logs -a ${input.row.fly_app ?? '<app>'}${input.machine ? ` -i ${input.machine.id}` : ''}) and the runbook; then /vyx destroy ${input.row.machine_id} and /vyx start a new one.`,
    certainty: 'possible',
  };
}

function withMatch(d: Diagnosis, input: DiagnosisInput): Diagnosis {
  return { ...d, evidence: [...d.evidence, ...matchEvidence(input)] };
}
