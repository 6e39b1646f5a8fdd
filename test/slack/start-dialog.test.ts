import { appendFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSlackRenderer } from '../../src/local/slack-twin/slack-renderer.ts';
import { START_MODAL } from '../../src/slack/views/start-modal.ts';
import { type BotHarness, CHANNEL, MEMBER, startBotHarness } from '../helpers/bot-harness.ts';
import { expectValidSlackTranscript } from '../helpers/slack-spec.ts';

// The start dialog (#18.2): `/vyx start` with no options opens a modal; a wrong answer is refused
// under its field and creates nothing; a valid one starts the machine as the flags would.
describe('the start dialog', () => {
  let h: BotHarness;
  beforeAll(async () => {
    h = await startBotHarness({ startDialog: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  const submit = (viewId: string, answers: Record<string, string>) =>
    h.raw(
      new URLSearchParams({
        payload: JSON.stringify(h.slack.viewSubmissionBody(viewId, answers)),
      }).toString(),
    );
  const options = (view: { blocks: Record<string, unknown>[] }, blockId: string) => {
    const element = view.blocks.find((b) => b.block_id === blockId)?.element as
      | { options: { value: string }[] }
      | undefined;
    return (element?.options ?? []).map((o) => o.value);
  };

  it('opens with Fly’s regions and the registry’s tags, refuses an unknown region inline, then starts', async () => {
    await h.command('start', MEMBER);
    const modal = await h.until(() => h.slack.views.modals(MEMBER)[0], 'the start dialog open');
    expect(modal.title).toEqual({ type: 'plain_text', text: 'Start a machine' });
    expect(options(modal, START_MODAL.regionBlock)).toEqual(expect.arrayContaining(['ams', 'iad']));
    expect(options(modal, START_MODAL.imageBlock)[0]).toBe('latest');
    expect(await h.s.store.listMachines({ userId: 'vyx-member' })).toEqual([]);

    // A region Fly does not have (a stale dialog, or a forged payload): errors under the field.
    const refused = await submit(modal.id, { [START_MODAL.regionBlock]: 'xyz' });
    expect(refused.status).toBe(200);
    const answer = JSON.parse(refused.body) as { response_action: string; errors: Record<string, string> };
    expect(answer.response_action).toBe('errors');
    expect(answer.errors[START_MODAL.regionBlock]).toContain('Fly has no region `xyz`');
    expect(Object.keys(answer.errors)).toEqual([START_MODAL.regionBlock]);
    // Slack keeps the dialog open and shows the error; nothing was created.
    expect(h.slack.views.answerSubmission(modal.id, answer)).toEqual({
      kind: 'errors',
      errors: answer.errors,
    });
    // As the terminal twin draws it: the error under its field.
    const renderer = createSlackRenderer({
      workspace: h.slack.workspace,
      identity: h.slack.identity,
      output: new PassThrough(),
    });
    const screen = renderer.showView(h.slack.views.modal(modal.id)!, answer.errors);
    renderer.close();
    expect(screen).toContain('│   ✗ Fly has no region');
    if (process.env.VYX_SCREENS_FILE) appendFileSync(process.env.VYX_SCREENS_FILE, `${screen}\n`);
    expect(await h.s.store.listMachines({ userId: 'vyx-member' })).toEqual([]);

    // A tag the dialog did not offer is refused the same way.
    const badTag = JSON.parse(
      (await submit(modal.id, { [START_MODAL.regionBlock]: 'ams', [START_MODAL.imageBlock]: 'v999' })).body,
    ) as { errors: Record<string, string> };
    expect(badTag.errors[START_MODAL.imageBlock]).toContain('not one of the tags offered');

    const ok = await submit(modal.id, { [START_MODAL.regionBlock]: 'iad' });
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('');
    expect(h.slack.views.answerSubmission(modal.id, undefined)).toEqual({ kind: 'closed' });
    const row = await h.until(async () => {
      const [r] = await h.s.store.listMachines({ userId: 'vyx-member' });
      return r?.status === 'running' ? r : undefined;
    }, 'the machine from the dialog running');
    expect(row.region).toBe('iad');
    expect(row.image).toBe('registry.fly.io/vyx-app:latest');
    // Its thread is where /vyx start was typed, as for the typed command.
    expect(row.slack_channel).toBe(CHANNEL);
    await h.until(() => h.slack.thread(CHANNEL, row.slack_thread_ts ?? '').length > 1, 'the thread');
  });

  it('answers privately when Slack refuses the dialog (a trigger id it never issued) and creates nothing', async () => {
    const before = h.ephemerals(MEMBER).length;
    const body = new URLSearchParams(h.commandBody('start', MEMBER));
    body.set('trigger_id', 'not-a-slack-trigger');
    await h.raw(body.toString());
    const said = await h.until(() => h.ephemerals(MEMBER)[before], 'the answer');
    expect(said).toContain('could not open the start dialog');
    expect(said).toContain('invalid_trigger_id');
    expect(await h.s.store.listMachines({ userId: 'vyx-member' })).toHaveLength(1);
  });

  it('keeps every views call within the spec', () => {
    expect(h.slack.transcript().some((e) => e.method === 'views.open')).toBe(true);
    expectValidSlackTranscript(h.slack.transcript());
  });
});
