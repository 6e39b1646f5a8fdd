// The provision-machine edge function under real Deno, against the Fly emulator and the Supabase
// twin that test/edge-function/edge-function.test.ts starts and describes in VYX_EDGE_TEST.
// Run only from there (`deno test`, loopback only).

import { REQUIRED_MACHINE_ENV_NAMES } from '../../src/contract/machine-env-names.ts';
import { METADATA_MACHINE_ID } from '../../src/contract/machine-metadata.ts';
import { createHandler } from '../../supabase/functions/provision-machine/handler.ts';
import { assert, flyMachinesOf, nothingCreatedFor, quiet, rpc, setup, start } from './deno-kit.deno.ts';

Deno.test('no JWT, or a forged one: 401 and nothing created', async () => {
  const none = await start(setup.env);
  assert.equal(none.status, 401);
  assert.equal(none.body.error.code, 'UNAUTHENTICATED');
  const forged = await start(setup.env, setup.forgedJwt);
  assert.equal(forged.status, 401);
  // A project key names no user: it cannot start a machine for anyone.
  const key = await start(setup.env, setup.env.SUPABASE_SERVICE_ROLE_KEY);
  assert.equal(key.status, 401);
  assert.ok(setup.nonUserJwt, 'a token naming no user is given');
  assert.equal((await start(setup.env, setup.nonUserJwt)).status, 401);
  await nothingCreatedFor(setup.users.unsigned.id);
});

Deno.test('healthy start: the row and a started machine whose MACHINE_ID is the row', async () => {
  const user = setup.users.healthy;
  const res = await start(setup.env, user.jwt, { region: 'ord' });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const machine = res.body.machine;
  assert.match(machine.machine_id, /^vyx-/);
  const row = await rpc('vyx_get_machine', { p_machine_id: machine.machine_id });
  assert.equal(row.user_id, user.id);
  assert.equal(row.fly_app, setup.fly.app);
  assert.ok(row.fly_machine_id, 'the row knows its Fly machine');

  const [fly, ...more] = await flyMachinesOf(user.id);
  assert.equal(more.length, 0);
  assert.equal(fly.id, row.fly_machine_id);
  assert.equal(fly.state, 'started');
  assert.equal(fly.name, row.machine_id, 'named after the row');
  assert.equal(fly.config.metadata[METADATA_MACHINE_ID], row.machine_id);
  assert.equal(fly.config.env.MACHINE_ID, row.machine_id);
  assert.equal(fly.config.env.USER_ID, user.id);
  // The names the machine received: the contract's list, and (written out, so that renaming a
  // variable in the contract breaks this side too) exactly these.
  const received = Object.keys(fly.config.env).sort();
  for (const name of REQUIRED_MACHINE_ENV_NAMES) assert.ok(received.includes(name), `${name} received`);
  assert.deepEqual(received, ['MACHINE_ID', 'SUPABASE_SERVICE_KEY', 'SUPABASE_URL', 'USER_ID']);

  const again = await start(setup.env, user.jwt);
  assert.equal(again.status, 200);
  assert.equal(again.body.existing, true);
  assert.equal(again.body.machine.machine_id, row.machine_id);
  assert.equal((await flyMachinesOf(user.id)).length, 1, 'no second machine');
});

Deno.test('DOCKER_IMAGE naming a missing tag: refused with IMAGE_TAG_MISSING, nothing created', async () => {
  const user = setup.users.missingTag;
  const env = { ...setup.env, DOCKER_IMAGE: 'registry.fly.io/vyx-app:stub' };
  const res = await start(env, user.jwt);
  assert.equal(res.status, 422, JSON.stringify(res.body));
  assert.equal(res.body.error.code, 'IMAGE_TAG_MISSING');
  assert.match(res.body.error.summary, /registry\.fly\.io\/vyx-app:stub/);
  assert.ok(res.body.error.fix.length > 0);
  await nothingCreatedFor(user.id);
});

Deno.test('the service key under the wrong name: refused naming the variable, nothing created', async () => {
  const user = setup.users.misnamed;
  const { MACHINE_SUPABASE_SERVICE_KEY: key, ...rest } = setup.env;
  const env = { ...rest, MACHINE_SUPABASE_SERVICE_ROLE_KEY: key };
  const res = await start(env, user.jwt);
  assert.equal(res.status, 422, JSON.stringify(res.body));
  assert.equal(res.body.error.code, 'ENV_MISMATCH');
  assert.match(res.body.error.summary, /SUPABASE_SERVICE_KEY/);
  const evidence = res.body.error.evidence.map((e: { value: string }) => e.value).join('\n');
  assert.match(evidence, /SUPABASE_SERVICE_KEY is missing \(SUPABASE_SERVICE_ROLE_KEY is set/);
  assert.match(res.body.error.fix, /supabase secrets set MACHINE_SUPABASE_SERVICE_KEY=/);
  assert.ok(!JSON.stringify(res.body).includes(key), 'no secret value in the answer');
  await nothingCreatedFor(user.id);
});

// The registry cannot be asked (nothing listens where it is said to be): as the bot does,
// VYX_PREFLIGHT_UNVERIFIED decides, and never as "missing".
const DEAD_REGISTRY = 'http://127.0.0.1:9';

Deno.test('the registry cannot answer and VYX_PREFLIGHT_UNVERIFIED=refuse: IMAGE_UNVERIFIED, nothing created', async () => {
  const user = setup.users.unverifiedRefused;
  const env = { ...setup.env, FLY_REGISTRY_URL: DEAD_REGISTRY, VYX_PREFLIGHT_UNVERIFIED: 'refuse' };
  const res = await start(env, user.jwt);
  assert.equal(res.status, 422, JSON.stringify(res.body));
  assert.equal(res.body.error.code, 'IMAGE_UNVERIFIED');
  await nothingCreatedFor(user.id);
});

Deno.test('the registry cannot answer and warn (the default): started, and the answer says so', async () => {
  const user = setup.users.unverifiedWarned;
  const res = await start({ ...setup.env, FLY_REGISTRY_URL: DEAD_REGISTRY }, user.jwt);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.match(res.body.warning, /could not check the image registry\.fly\.io\/vyx-app:latest/);
  const [fly] = await flyMachinesOf(user.id);
  assert.equal(fly.config.env.MACHINE_ID, res.body.machine.machine_id);
});

Deno.test('bad requests: a clear answer and no side effect', async () => {
  const handler = createHandler({ env: setup.env, log: quiet });
  const url = 'http://127.0.0.1/functions/v1/provision-machine';
  const preflight = await handler(new Request(url, { method: 'OPTIONS' }));
  assert.equal(preflight.status, 200);
  assert.match(String(preflight.headers.get('access-control-allow-headers')), /authorization/);
  await preflight.body?.cancel();
  const get = await handler(new Request(url));
  assert.equal(get.status, 405);
  await get.body?.cancel();
  const user = setup.users.unsigned;
  const badRegion = await start(setup.env, user.jwt, { region: 'Chicago' });
  assert.equal(badRegion.status, 400);
  assert.equal(badRegion.body.error.code, 'BAD_REQUEST');
  const badCpu = await start(setup.env, user.jwt, { cpuPriority: 'very high' });
  assert.equal(badCpu.status, 400);
  assert.match(badCpu.body.error.summary, /CPU_PRIORITY is malformed/);
  const { FLY_API_TOKEN: _token, ...noToken } = setup.env;
  const unset = await start(noToken, user.jwt);
  assert.equal(unset.status, 500);
  assert.equal(unset.body.error.code, 'CONFIG_MISSING');
  assert.match(unset.body.error.summary, /FLY_API_TOKEN is missing/);
  await nothingCreatedFor(user.id);
});
