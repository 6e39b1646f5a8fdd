import type { DiagnosisInput, Evidence } from './diagnosis.ts';
import { fact } from './evidence.ts';

/** Which key tied the machine to the row, in words with the value that matched. */
export function describeMatch(input: DiagnosisInput): string | undefined {
  const m = input.machine;
  if (!m || !input.matchedBy) return undefined;
  switch (input.matchedBy) {
    case 'fly_machine_id':
      return `the row's fly_machine_id (${m.id})`;
    case 'create_key':
      return `the provisioning's create key (metadata vyx_create_key=${m.config?.metadata.vyx_create_key ?? '?'})`;
    case 'metadata':
      return `vyxbot's metadata vyx_machine_id=${input.row.machine_id}`;
    case 'name':
      return `the machine's name (${m.name ?? input.row.machine_id})`;
    case 'env_machine_id':
      return `env MACHINE_ID=${input.row.machine_id}`;
    case 'env_user_id':
      return `env USER_ID=${String(input.row.user_id)} (no stronger key matched)`;
  }
}

/**
 * The "matched by" fact, or nothing when no machine was matched or the row's own Fly id found it
 * (the card already names that machine, and a 1,000-row tick stays one request).
 */
export function matchEvidence(input: DiagnosisInput): Evidence[] {
  if (input.matchedBy === 'fly_machine_id') return [];
  const how = describeMatch(input);
  return how ? [fact(input, 'matched by', how, 'watcher')] : [];
}
