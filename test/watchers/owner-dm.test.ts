import { webApi } from '@slack/bolt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SlackApiServer, startSlackApiServer } from '../../src/local/slack-twin/slack-api-server.ts';
import { slackPosterFrom } from '../../src/slack/slack-poster.ts';
import { EchoWatcher } from '../../src/watchers/echo-watcher.ts';
import { type StoreUnderTest, startStoreOn } from '../helpers/store-backends.ts';

const HOME = 'C0VYXLOCAL';
const OWNER = 'U0OWNER001';
const WEB_OWNER = 'U0WEBUSER1';
const TEAM = 'T0TEST0001';
const dmOf = (user: string) => `D${user.slice(1)}`;

// A failed machine's owner gets its card in a direct message, once per failure: two replicas
// delivering the outbox at once send one; a redelivered event sends none; `/vyx notify off` stops it.
describe('owner direct message on failure', () => {
  let s: StoreUnderTest;
  let slack: SlackApiServer;
  beforeAll(async () => {
    s = await startStoreOn('pglite');
    slack = await startSlackApiServer({ transcriptFile: false, identity: { teamId: TEAM, channelId: HOME } });
  });
  afterAll(async () => {
    await slack?.close();
    await s?.close();
  });

  const replica = (owner: string) =>
    new EchoWatcher({
      store: s.store,
      slack: slackPosterFrom(new webApi.WebClient(slack.botToken, { slackApiUrl: slack.apiUrl })),
      logger: pino({ level: 'silent' }),
      owner,
      alertChannel: HOME,
      perChannelPerSecond: 0,
    });
  const dms = (user: string) =>
    slack.workspace.resolveChannel(dmOf(user)) ? slack.workspace.messages(dmOf(user)) : [];

  /** A running row of `userId` (requested in Slack by `requestedBy`, or made by the web UI: null). */
  async function runningRow(id: string, userId: string, requestedBy: string | null) {
    await s.twin.backend.query(
      `insert into cloud_machines (machine_id, user_id, status, requested_by) values ($1, $2, 'starting', $3)`,
      [id, userId, requestedBy],
    );
    await s.twin.backend.query(`update cloud_machines set status = 'running' where machine_id = $1`, [id]);
    const w = replica('setup');
    while ((await s.store.pendingEventsOf([id])) > 0) await w.tick();
  }

  /** Both replicas deliver until the machine's events are all acknowledged. */
  async function deliverWithTwoReplicas(id: string) {
    const a = replica('replica-a');
    const b = replica('replica-b');
    while ((await s.store.pendingEventsOf([id])) > 0) await Promise.all([a.tick(), b.tick()]);
  }

  it('two replicas, one failure: exactly one direct message with the card', async () => {
    await runningRow('vyx-dm-one', 'user-one', OWNER);
    await s.store.reportStatus('vyx-dm-one', 'failed', 'exit code 1');
    await deliverWithTwoReplicas('vyx-dm-one');
    const mine = dms(OWNER).filter((m) => m.text.includes('vyx-dm-one'));
    expect(mine).toHaveLength(1);
    expect(JSON.stringify(mine[0]!.blocks)).toContain('Your machine `vyx-dm-one` failed');
    // The thread/alert channel still says it too.
    expect(slack.workspace.messages(HOME).some((m) => m.text.includes('vyx-dm-one'))).toBe(true);

    // A redelivery of the same failure event (a replica crashed before its ack) sends no second one.
    await s.twin.backend.query(
      `update machine_events set delivered_at = null, claimed_by = null, claim_until = null
       where machine_id = 'vyx-dm-one' and new_status = 'failed'`,
    );
    await deliverWithTwoReplicas('vyx-dm-one');
    expect(dms(OWNER).filter((m) => m.text.includes('vyx-dm-one'))).toHaveLength(1);
  });

  it('a second failure is a second message; a row the web UI made reaches its linked owner', async () => {
    await s.twin.backend.query(
      `update cloud_machines set status = 'running' where machine_id = 'vyx-dm-one'`,
    );
    await s.store.reportStatus('vyx-dm-one', 'failed', 'exit code 137');
    await deliverWithTwoReplicas('vyx-dm-one');
    expect(dms(OWNER).filter((m) => m.text.includes('vyx-dm-one'))).toHaveLength(2);

    await s.store.linkIdentity({ slackTeamId: TEAM, slackUserId: WEB_OWNER, userId: 'user-web' });
    await runningRow('vyx-dm-web', 'user-web', null);
    await s.store.reportStatus('vyx-dm-web', 'failed', 'exit code 1');
    await deliverWithTwoReplicas('vyx-dm-web');
    expect(dms(WEB_OWNER).filter((m) => m.text.includes('vyx-dm-web'))).toHaveLength(1);
  });

  it('an owner who turned it off gets none; turned on again, they do', async () => {
    await s.store.linkIdentity({ slackTeamId: TEAM, slackUserId: OWNER, userId: 'user-one' });
    expect(await s.store.setFailureDm(TEAM, OWNER, false)).toBe(true);
    await runningRow('vyx-dm-off', 'user-one', OWNER);
    await s.store.reportStatus('vyx-dm-off', 'failed', 'exit code 1');
    await deliverWithTwoReplicas('vyx-dm-off');
    expect(dms(OWNER).filter((m) => m.text.includes('vyx-dm-off'))).toHaveLength(0);
    expect(slack.workspace.messages(HOME).some((m) => m.text.includes('vyx-dm-off'))).toBe(true);

    expect(await s.store.setFailureDm(TEAM, OWNER, true)).toBe(true);
    await s.twin.backend.query(
      `update cloud_machines set status = 'running' where machine_id = 'vyx-dm-off'`,
    );
    await s.store.reportStatus('vyx-dm-off', 'failed', 'exit code 2');
    await deliverWithTwoReplicas('vyx-dm-off');
    expect(dms(OWNER).filter((m) => m.text.includes('vyx-dm-off'))).toHaveLength(1);
    // Not linked: nothing to turn off, and the answer says so.
    expect(await s.store.setFailureDm(TEAM, 'U0NOBODY01', false)).toBe(false);
  });
});
