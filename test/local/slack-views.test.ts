/**
 * The Slack twin's views (#18.5): views.open / views.publish / views.update as a WebClient sees
 * them — Slack's trigger rules (3 s, once), its error codes, and Block Kit's view limits — and the
 * bot's own Home and start dialog at their largest still pass.
 */
import { type WebAPIPlatformError, WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type SlackApiServer, startSlackApiServer } from '../../src/local/slack-twin/slack-api-server.ts';
import { checkView } from '../../src/local/slack-twin/view-check.ts';
import { homeView } from '../../src/slack/views/home-view.ts';
import { START_MODAL, startModal } from '../../src/slack/views/start-modal.ts';
import type { CloudMachine, FleetGlance } from '../../src/store/store-schemas.ts';
import { silentLogger } from '../helpers/slack-harness.ts';
import { expectValidSlackTranscript } from '../helpers/slack-spec.ts';

const TOKEN = 'xoxb-test-views-secret';
const USER = 'U0VIEWS001';
let server: SlackApiServer;
let client: WebClient;
let t = Date.parse('2026-12-01T12:00:00Z');

const slackError = async (call: Promise<unknown>) => {
  const error = (await call.then(
    () => undefined,
    (e: unknown) => e,
  )) as WebAPIPlatformError | undefined;
  expect(error, 'the call should fail').toBeDefined();
  return error!.data as { error: string; response_metadata?: { messages?: string[] } };
};

const modal = (over: Record<string, unknown> = {}) => ({
  type: 'modal' as const,
  title: { type: 'plain_text' as const, text: 'A dialog' },
  submit: { type: 'plain_text' as const, text: 'Go' },
  blocks: [
    {
      type: 'input',
      block_id: 'name',
      label: { type: 'plain_text', text: 'Name' },
      element: { type: 'plain_text_input', action_id: 'name' },
    },
  ],
  ...over,
});

beforeEach(async () => {
  server = await startSlackApiServer({ transcriptFile: false, botToken: TOKEN, now: () => t });
  client = new WebClient(TOKEN, {
    slackApiUrl: server.apiUrl,
    retryConfig: { retries: 0 },
    logger: silentLogger,
  });
});
afterEach(async () => {
  await server.close();
});

describe('Slack twin views', () => {
  it('opens a modal with a trigger id once, within 3 s, as Slack does', async () => {
    const trigger = server.views.issueTrigger(USER);
    const opened = await client.views.open({ trigger_id: trigger, view: modal() });
    expect(opened.view).toMatchObject({ type: 'modal', title: { text: 'A dialog' }, state: { values: {} } });
    expect(server.views.modals(USER).map((m) => m.id)).toEqual([opened.view!.id]);
    expect((await slackError(client.views.open({ trigger_id: trigger, view: modal() }))).error).toBe(
      'exchanged_trigger_id',
    );
    const late = server.views.issueTrigger(USER);
    t += 3_001;
    expect((await slackError(client.views.open({ trigger_id: late, view: modal() }))).error).toBe(
      'expired_trigger_id',
    );
    expect((await slackError(client.views.open({ trigger_id: '1.2.3', view: modal() }))).error).toBe(
      'invalid_trigger_id',
    );
    expect(server.views.modals(USER)).toHaveLength(1);
    expectValidSlackTranscript(server.transcript());
  });

  it('refuses views Slack would refuse, naming the place, and keeps the trigger for a fixed one', async () => {
    const trigger = server.views.issueTrigger(USER);
    const refused = async (view: Record<string, unknown>) => {
      const data = await slackError(client.views.open({ trigger_id: trigger, view: view as never }));
      expect(data.error).toBe('invalid_arguments');
      return data.response_metadata?.messages?.join('\n') ?? '';
    };
    expect(
      await refused(modal({ title: { type: 'plain_text', text: 'A title much longer than 24' } })),
    ).toContain('[json-pointer:/view/title/text]');
    expect(await refused(modal({ submit: { type: 'plain_text', text: 'x'.repeat(25) } }))).toContain(
      '/view/submit/text',
    );
    expect(await refused(modal({ private_metadata: 'x'.repeat(3001) }))).toContain('/view/private_metadata');
    expect(
      await refused(modal({ blocks: Array.from({ length: 101 }, () => ({ type: 'divider' })) })),
    ).toContain('no more than 100 items');
    const { submit: _submit, ...noSubmit } = modal();
    expect(await refused(noSubmit)).toContain('must have a submit button');
    const select = (n: number) => ({
      type: 'input',
      block_id: 'pick',
      label: { type: 'plain_text', text: 'Pick' },
      element: {
        type: 'static_select',
        action_id: 'pick',
        options: Array.from({ length: n }, (_, i) => ({
          text: { type: 'plain_text', text: `o${i}` },
          value: `o${i}`,
        })),
        initial_option: { text: { type: 'plain_text', text: 'nope' }, value: 'nope' },
      },
    });
    const selectErrors = await refused(modal({ blocks: [select(101)] }));
    expect(selectErrors).toContain('options must hold 1–100 items');
    expect(await refused(modal({ blocks: [select(3)] }))).toContain(
      'initial_option must be one of the options',
    );
    // Refused calls do not use the trigger up.
    await client.views.open({ trigger_id: trigger, view: modal() });
    expectValidSlackTranscript(server.transcript());
  });

  it('publishes a Home tab, refuses input blocks in a message, updates by id with Slack’s hash rule, not_found for others', async () => {
    const home = {
      type: 'home' as const,
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hi' } }],
    };
    const first = await client.views.publish({ user_id: USER, view: home });
    expect(server.views.home(USER)?.blocks[0]).toMatchObject({ text: { text: 'hi' } });
    // Input blocks belong to views: a message holding one is refused.
    const inputs = await slackError(
      client.chat.postMessage({
        channel: server.identity.channelId,
        text: 'x',
        blocks: modal().blocks as never,
      }),
    );
    expect(inputs.error).toBe('invalid_blocks');
    expect(JSON.stringify(inputs)).toContain('input blocks are not allowed in messages');
    expect((await slackError(client.views.publish({ user_id: 'nobody', view: home }))).error).toBe(
      'invalid_arguments',
    );
    expect((await slackError(client.views.publish({ user_id: USER, view: home, hash: 'stale' }))).error).toBe(
      'hash_conflict',
    );
    await client.views.publish({ user_id: USER, view: home, hash: first.view!.hash! });
    expect((await slackError(client.views.update({ view_id: 'V404', view: modal() }))).error).toBe(
      'not_found',
    );
    const opened = await client.views.open({ trigger_id: server.views.issueTrigger(USER), view: modal() });
    await client.views.update({
      view_id: opened.view!.id!,
      view: modal({ title: { type: 'plain_text', text: 'Changed' } }),
    });
    expect(server.views.modal(opened.view!.id!)?.title).toMatchObject({ text: 'Changed' });
    expectValidSlackTranscript(server.transcript());
  });

  it('applies a view_submission ack: errors only under input blocks keep it open, nothing closes it', async () => {
    const opened = await client.views.open({ trigger_id: server.views.issueTrigger(USER), view: modal() });
    const id = opened.view!.id!;
    const payload = server.viewSubmissionBody(id, { name: 'web-1' });
    expect(payload).toMatchObject({
      type: 'view_submission',
      user: { id: USER },
      view: { id, state: { values: { name: { name: { type: 'plain_text_input', value: 'web-1' } } } } },
    });
    expect(
      server.views.answerSubmission(id, { response_action: 'errors', errors: { other: 'x' } }),
    ).toMatchObject({
      kind: 'refused',
    });
    expect(
      server.views.answerSubmission(id, { response_action: 'errors', errors: { name: 'Taken' } }),
    ).toEqual({
      kind: 'errors',
      errors: { name: 'Taken' },
    });
    expect(server.views.modal(id)).toBeDefined();
    expect(server.views.answerSubmission(id, undefined)).toEqual({ kind: 'closed' });
    expect(server.views.modal(id)).toBeUndefined();
  });

  it('the bot’s Home and start dialog at their largest stay within Block Kit’s limits', async () => {
    const machine = (i: number): CloudMachine => ({
      machine_id: `vyx-${String(i).padStart(8, '0')}`,
      user_id: 'vyx-member',
      status: i % 2 ? 'running' : 'failed',
      updated_at: '2026-12-01T11:00:00Z',
      created_at: '2026-12-01T11:00:00Z',
      status_changed_at: '2026-12-01T11:00:00Z',
      status_detail: null,
      fly_app: 'vyx-app',
      fly_machine_id: `f${i}`,
      region: 'ams',
      image: `registry.fly.io/vyx-app:${'v'.repeat(100)}`,
      last_heartbeat_at: null,
      slack_team_id: null,
      slack_channel: null,
      slack_thread_ts: null,
      requested_by: null,
      diagnosis: { code: 'BOOT_CRASH', summary: 's'.repeat(2000), fix: 'f', certainty: 'certain' },
      flagged_at: null,
      lease_owner: null,
      lease_until: null,
    });
    const group = {
      count: 5000,
      oldest: Array.from({ length: 20 }, (_, i) => ({
        machine_id: `vyx-${i}`,
        user_id: 'u'.repeat(100),
        since: '2026-12-01T10:00:00Z',
        detail: 'd'.repeat(200),
      })),
    };
    const fleet: FleetGlance = {
      starting: group,
      stuck: group,
      failed: group,
      orphans: group,
      silenced: group,
    };
    const home = homeView({
      linked: true,
      machines: Array.from({ length: 30 }, (_, i) => machine(i)),
      more: true,
      fleet,
      now: new Date(t),
    });
    expect(checkView(home, 'home', () => 'id')).toMatchObject({ ok: true });
    await client.views.publish({ user_id: USER, view: home });

    const regions = Array.from({ length: 150 }, (_, i) => ({
      code: `r${String(i).padStart(2, '0')}`,
      name: 'n'.repeat(200),
    }));
    const dialog = startModal({
      regions,
      defaultRegion: 'r00',
      tags: Array.from({ length: 150 }, (_, i) => `tag-${i}-${'t'.repeat(100)}`),
      defaultTag: 'latest',
      notes: ['n'.repeat(4000)],
      channel: 'C0VYXLOCAL',
    });
    expect(checkView(dialog, 'modal', () => 'id')).toMatchObject({ ok: true });
    await client.views.open({ trigger_id: server.views.issueTrigger(USER), view: dialog });
    // Without Fly's regions the region is typed (a plain_text_input), still a valid dialog.
    const typed = startModal({
      regions: undefined,
      defaultRegion: 'ams',
      tags: [],
      defaultTag: 'latest',
      notes: [],
      channel: 'C1',
    });
    const region = typed.blocks.find(
      (b) => (b as { block_id?: string }).block_id === START_MODAL.regionBlock,
    );
    expect(region).toMatchObject({ element: { type: 'plain_text_input', initial_value: 'ams' } });
    await client.views.open({ trigger_id: server.views.issueTrigger(USER), view: typed });
    expectValidSlackTranscript(server.transcript());
  });
});
