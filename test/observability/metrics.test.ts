import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../testkit/until.ts';
import { parsePrometheus, type Sample, sampleValue } from '../helpers/prometheus.ts';
import { expectNoSecrets } from '../helpers/secrets.ts';
import { sendCommand } from '../helpers/send-command.ts';
import { ADMIN, CHANNEL, startTestBot, TEAM, type TestBot } from '../helpers/test-bot.ts';

// /metrics as Prometheus scrapes it: parsed strictly, and its counters moved by real work — a
// signed slash command over HTTP and a stuck-watcher tick that diagnoses a real row.
describe('/metrics', () => {
  let t: TestBot;
  beforeAll(async () => {
    t = await startTestBot({ VYX_STUCK_AFTER_S: '1' });
  });
  afterAll(async () => {
    if (!t) return;
    await t.close();
    expectNoSecrets(t.logs.join('\n'), t.secrets());
  });

  async function scrape(): Promise<Sample[]> {
    const r = await fetch(`${t.running.httpUrl}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const parsed = parsePrometheus(await r.text());
    expect(parsed.types.get('vyxbot_commands_total')).toBe('counter');
    expect(parsed.types.get('vyxbot_ack_seconds')).toBe('histogram');
    expect(parsed.types.get('vyxbot_watcher_tick_seconds')).toBe('histogram');
    expect(parsed.types.get('vyxbot_outbox_pending_events')).toBe('gauge');
    return parsed.samples;
  }

  it('is checked by a strict parser', () => {
    expect(() => parsePrometheus('# TYPE x counter\nx{a="1"} 1\n')).not.toThrow();
    expect(() => parsePrometheus('x 1\n')).toThrow(/undeclared family/);
    expect(() => parsePrometheus('# TYPE x counter\nx{a=1} 1\n')).toThrow(/bad/);
    expect(() => parsePrometheus('# TYPE x counter\nx one\n')).toThrow(/bad value/);
    expect(() => parsePrometheus('# TYPE x counter\n# TYPE x counter\n')).toThrow(/twice/);
  });

  it('parses as Prometheus text and carries every family', async () => {
    const samples = await scrape();
    const names = new Set(samples.map((s) => s.name));
    for (const family of [
      'vyxbot_outbox_pending_events',
      'vyxbot_outbox_oldest_pending_seconds',
      'vyxbot_process_cpu_seconds_total',
    ]) {
      expect(names.has(family), family).toBe(true);
    }
    expect(sampleValue(samples, 'vyxbot_outbox_pending_events')).toBe(0);
  });

  it('counts a command, its ack and the Slack answer', async () => {
    const before = await scrape();
    const status = await sendCommand(t.running.httpUrl!, t.signingSecret, {
      text: 'help',
      team: TEAM,
      channel: CHANNEL,
      user: ADMIN,
      responseUrl: t.slack.createResponseUrl({ kind: 'command', channel: CHANNEL, user: ADMIN }),
      slack: t.slack,
    });
    expect(status).toBe(200);
    await until(() => t.slack.workspace.ephemerals().some((e) => e.user === ADMIN), 'the help answer');
    const after = await until(async () => {
      const s = await scrape();
      return sampleValue(s, 'vyxbot_commands_total', { name: 'help' }) > 0 ? s : undefined;
    }, 'the command counted');
    const delta = (name: string, labels: Record<string, string> = {}) =>
      sampleValue(after, name, labels) - sampleValue(before, name, labels);
    expect(delta('vyxbot_commands_total', { kind: 'command', name: 'help', outcome: 'ok' })).toBe(1);
    expect(delta('vyxbot_ack_seconds_count', { kind: 'command' })).toBe(1);
    expect(delta('vyxbot_ack_seconds_bucket', { kind: 'command', le: '+Inf' })).toBe(1);
    expect(sampleValue(after, 'vyxbot_ack_seconds_sum', { kind: 'command' })).toBeGreaterThan(0);
  });

  it('counts a watcher tick: its duration, its rows, the diagnosis, Fly requests, the Slack post and the outbox', async () => {
    // A row stuck in `starting` whose Fly machine never existed (made outside Slack: its news goes
    // to the alert channel).
    const begun = await t.running.store.beginProvision({
      userId: 'vyx-obs-stuck',
      flyApp: 'vyx-app',
      region: 'ams',
      image: 'registry.fly.io/vyx-app:latest',
    });
    await new Promise((r) => setTimeout(r, 1_100)); // older than VYX_STUCK_AFTER_S=1
    const before = await scrape();
    const report = await t.running.bot.stuck.tick();
    expect(report.claimed).toBe(1);
    const code = report.diagnosed[0]!.code;
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      sampleValue(after, name, labels) - sampleValue(before, name, labels);
    expect(delta('vyxbot_watcher_ticks_total', { watcher: 'stuck', result: 'ok' })).toBe(1);
    expect(delta('vyxbot_watcher_tick_seconds_count', { watcher: 'stuck' })).toBe(1);
    expect(delta('vyxbot_watcher_rows_total', { watcher: 'stuck' })).toBe(1);
    expect(delta('vyxbot_diagnoses_total', { code, source: 'watcher' })).toBe(1);
    expect(
      delta('vyxbot_fly_requests_total', { method: 'GET', route: '/v1/apps/:app/machines', status: '200' }),
    ).toBeGreaterThanOrEqual(1);

    // The echo delivers the diagnosis to Slack: its ticks, rows and the post are counted, and the
    // outbox drains to nothing pending.
    const posted = await until(
      () => t.slack.messages(CHANNEL).find((m) => m.text.includes(begun.machine.machine_id)),
      'the diagnosis posted',
    );
    // The card links its runbook (by default the file in this checkout).
    expect(posted.text).toMatch(new RegExp(`file://\\S+/docs/diagnoses/${code}\\.md`));
    const later = await until(async () => {
      const s = await scrape();
      return sampleValue(s, 'vyxbot_outbox_pending_events') === 0 ? s : undefined;
    }, 'the outbox drained');
    expect(sampleValue(later, 'vyxbot_watcher_rows_total', { watcher: 'echo' })).toBeGreaterThanOrEqual(1);
    expect(
      sampleValue(later, 'vyxbot_watcher_ticks_total', { watcher: 'echo', result: 'ok' }),
    ).toBeGreaterThan(0);
    expect(
      sampleValue(later, 'vyxbot_slack_api_calls_total', { method: 'chat.postMessage', status: 'ok' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sampleValue(later, 'vyxbot_outbox_oldest_pending_seconds')).toBe(0);
  });

  it('reports outbox lag while events wait', async () => {
    await t.running.bot.echo.stop();
    await t.running.store.recordDiagnosis({
      machineId: 'fly:lagging',
      code: 'ORPHAN_MACHINE',
      summary: 'a machine nobody owns',
      evidence: [],
      fix: 'destroy it',
      certainty: 'likely',
    });
    const samples = await scrape();
    expect(sampleValue(samples, 'vyxbot_outbox_pending_events')).toBe(1);
    expect(sampleValue(samples, 'vyxbot_outbox_oldest_pending_seconds')).toBeGreaterThanOrEqual(0);
    expect(sampleValue(samples, 'vyxbot_outbox_read_failed')).toBe(0);
  });
});
