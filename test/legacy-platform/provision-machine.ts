// The platform's edge function supabase/functions/provision-machine/index.ts as the incidents show
// it, with the seeded bugs as switches. Deno.env becomes `settings`.
import { createClient } from '@supabase/supabase-js';
import { dockerImageSetting, type SeededBugs } from './seeded-bugs.ts';

export interface EdgeFunctionSettings {
  SUPABASE_URL: string;
  /** What Supabase gives every edge function. */
  SUPABASE_SERVICE_ROLE_KEY: string;
  FLY_API_TOKEN: string;
  /** The Machines API origin (the emulator here). */
  FLY_API_URL: string;
  FLY_APP_NAME: string;
  /** The `DOCKER_IMAGE` secret; unset means the default `registry.fly.io/vyx-app:latest`. */
  DOCKER_IMAGE?: string;
  GEMINI_API_KEY?: string;
}

export interface EdgeFunctionResult {
  /** The row's id, e.g. `vyx-63eea370`. */
  machineId: string;
  /** What Fly answered (the edge function logged it and did not store it). */
  flyMachineId: string;
}

/** The edge function's settings for these bugs (the `DOCKER_IMAGE` secret as it was set). */
export function settingsFor(
  bugs: SeededBugs,
  base: Omit<EdgeFunctionSettings, 'DOCKER_IMAGE'>,
): EdgeFunctionSettings {
  return { ...base, DOCKER_IMAGE: dockerImageSetting(bugs) };
}

/** "Start Machine" in the web UI: the row, then the Fly machine, then `starting`; success at once. */
export async function provisionMachine(
  settings: EdgeFunctionSettings,
  request: { userId: string; cpuPriority?: string; region?: string },
  bugs: SeededBugs,
): Promise<EdgeFunctionResult> {
  const supabaseUrl = settings.SUPABASE_URL;
  const supabaseServiceKey = settings.SUPABASE_SERVICE_ROLE_KEY;
  const supabase = createClient(supabaseUrl, supabaseServiceKey, {
    auth: { persistSession: false, autoRefreshToken: false },
  });
  const userId = request.userId;
  const cpuPriority = request.cpuPriority ?? 'normal';
  // provision-machine/index.ts:196
  const dockerImage = settings.DOCKER_IMAGE || 'registry.fly.io/vyx-app:latest';
  const machineName = `vyx-${userId.slice(0, 8)}`;

  const { data: machine, error: insertError } = await supabase
    .from('cloud_machines')
    .insert({ machine_id: machineName, user_id: userId, status: 'starting' })
    .select()
    .single();
  if (insertError) throw new Error(`could not record the machine: ${insertError.message}`);

  // provision-machine/index.ts:245, before and after fixes 2 and 4.
  const env: Record<string, string> = {
    USER_ID: userId,
    ...(bugs.noMachineId ? {} : { MACHINE_ID: (machine as { machine_id: string }).machine_id }),
    SUPABASE_URL: supabaseUrl,
    ...(bugs.edgeSendsRoleKey
      ? { SUPABASE_SERVICE_ROLE_KEY: supabaseServiceKey }
      : { SUPABASE_SERVICE_KEY: supabaseServiceKey }),
    GEMINI_API_KEY: settings.GEMINI_API_KEY || '',
    CPU_PRIORITY: cpuPriority,
  };
  const body = {
    name: machineName,
    region: request.region ?? 'sjc',
    config: {
      image: dockerImage,
      env,
      auto_destroy: true,
      guest: { cpu_kind: 'shared', cpus: 1, memory_mb: 256 },
    },
  };
  const response = await fetch(`${settings.FLY_API_URL}/v1/apps/${settings.FLY_APP_NAME}/machines`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${settings.FLY_API_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as { id?: string; error?: string };
  if (!response.ok || !answer.id) throw new Error(`Fly.io API error ${response.status}: ${answer.error}`);

  // "Updates DB to starting; returns success immediately" — no Fly id stored, no check it started.
  await supabase.from('cloud_machines').update({ status: 'starting' }).eq('machine_id', machineName);
  return { machineId: machineName, flyMachineId: answer.id };
}
