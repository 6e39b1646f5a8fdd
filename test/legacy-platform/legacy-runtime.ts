// The platform's machine runtime as it was (server/fly-machine/index.ts and StateSynchronizer), run
// by the Fly emulator as the image's process. `--before-fix-3`: the image built before the env-name
// fix, which reads SUPABASE_SERVICE_ROLE_KEY.
import { createClient } from '@supabase/supabase-js';

const keyName = process.argv.includes('--before-fix-3')
  ? 'SUPABASE_SERVICE_ROLE_KEY'
  : 'SUPABASE_SERVICE_KEY';
// index.ts:11, verbatim: the fallback that made incident 000.
const MACHINE_ID = process.env.MACHINE_ID || `machine_${Date.now()}`;
const USER_ID = process.env.USER_ID;
console.log(`[Main] Configuration:\n  Machine ID: ${MACHINE_ID}`);

// createClient throws "supabaseKey is required." when the variable is missing: a crash at boot.
const supabase = createClient(process.env.SUPABASE_URL as string, process.env[keyName] as string, {
  auth: { persistSession: false, autoRefreshToken: false },
});
console.log(`[StateSynchronizer] Initializing for user ${USER_ID}, machine ${MACHINE_ID}`);

async function updateMachineStatus(status: string): Promise<void> {
  // StateSynchronizer.updateMachineStatus(): a table update by machine_id. Matching no row is not
  // an error to supabase-js — the incident's silent failure.
  const { error } = await supabase.from('cloud_machines').update({ status }).eq('machine_id', MACHINE_ID);
  if (error) console.error(`[StateSynchronizer] status update failed: ${error.message}`);
}

console.log('[Orchestrator] Starting...');
await updateMachineStatus('running');
console.log('[Orchestrator] Started successfully');
console.log('[Main] Status: isRunning: true');

const keepAlive = setInterval(() => {}, 60_000);
process.on('SIGTERM', () => {
  clearInterval(keepAlive);
  void updateMachineStatus('stopped').finally(() => process.exit(0));
});
