import { diagnose } from '../diagnose/diagnose.ts';
import type { Diagnosis } from '../diagnose/diagnosis.ts';
import { provisionUnexplained } from '../diagnose/provision-unexplained.ts';
import { errorLine } from '../errors/error-line.ts';
import { gatherEvidence } from '../evidence/gather-evidence.ts';
import type { CloudMachine } from '../store/store-schemas.ts';
import type { ProvisionDeps } from './provision-types.ts';
import { recordFailure } from './record-failure.ts';

/** Diagnoses a machine whose provisioning failed, then records it and marks the row failed (recordFailure). */
export async function failProvision(
  deps: Omit<ProvisionDeps, 'slack' | 'owner'>,
  machine: CloudMachine,
  err: unknown,
): Promise<Diagnosis> {
  const { store, fly, registry, config, now, logger } = deps;
  let diagnosis: Diagnosis;
  try {
    const row = await store.getMachine(machine.machine_id);
    const gathered = await gatherEvidence(
      [row],
      { fly, registry, defaultApp: config.flyApp },
      { now: now(), stuckAfterS: config.stuckAfterS },
    );
    diagnosis = diagnose(gathered.inputs[0]!);
  } catch (gatherErr) {
    logger.warn({ err: errorLine(gatherErr) }, 'could not gather evidence for a failed provision');
    diagnosis = provisionUnexplained();
  }
  diagnosis.evidence.push({
    fact: 'provisioning error',
    value: errorLine(err),
    source: 'watcher',
    at: now().toISOString(),
  });
  try {
    await recordFailure(store, machine.machine_id, diagnosis);
  } catch (storeErr) {
    logger.error(
      { err: errorLine(storeErr), machineId: machine.machine_id },
      'could not record the failed provision',
    );
  }
  return diagnosis;
}
