// A start from the web that fails after the machine was made (incident 001 through the web path: the
// registry could not be asked, warn let it through, the tag does not exist): the function answers
// 502 with the row, and leaves the row `starting` with its Fly machine for vyxbot's watcher, which
// test/edge-function/web-failure.test.ts then runs. Run only from there.
import { assert, setup, start } from './deno-kit.deno.ts';

Deno.test('a machine that does not start: 502 FLY_NOT_STARTED, row left starting with its Fly machine', async () => {
  const user = setup.users.web;
  const env = {
    ...setup.env,
    DOCKER_IMAGE: 'registry.fly.io/vyx-app:stub',
    FLY_REGISTRY_URL: 'http://127.0.0.1:9',
  };
  const res = await start(env, user.jwt);
  assert.equal(res.status, 502, JSON.stringify(res.body));
  assert.equal(res.body.error.code, 'FLY_NOT_STARTED');
  assert.match(res.body.error.fix, /alert channel/);
  assert.equal(res.body.machine.status, 'starting');
  assert.ok(res.body.machine.fly_machine_id, 'the row knows its Fly machine');
});
