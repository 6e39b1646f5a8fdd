/**
 * Fly's logs endpoint, `GET /api/v1/apps/:app/logs?instance=…&next_token=…` (served by api.fly.io,
 * not the Machines API host): the machines' captured stdout/stderr as a JSON:API page. Like Fly:
 * without a token the newest 100 lines; with one, up to 100 lines after it; an unknown instance is
 * an empty page, not a 404; `meta.next_token` is the last line's nanosecond time (or the one given).
 */
import {
  appOr404,
  type EmulatorParts,
  type Reply,
  type RequestContext,
  type Route,
} from './emulator-reply.ts';
import type { LogEntry } from './log-entry.ts';

const PAGE = 100;

export function logsRoutes({ store, lifecycle }: EmulatorParts): Route[] {
  function logs(ctx: RequestContext): Reply {
    const app = appOr404(store, ctx.params[0]);
    if (!('machines' in app)) return app;
    const instance = ctx.query.get('instance');
    const token = ctx.query.get('next_token');
    if (token !== null && !/^\d{1,20}$/.test(token)) {
      return { status: 400, body: { errors: [{ detail: 'next_token must be a nanosecond timestamp' }] } };
    }
    const records = instance
      ? [app.machines.get(instance)].filter((r) => r !== undefined)
      : [...app.machines.values()];
    const entries: { id: string; region: string; e: LogEntry }[] = records
      .flatMap((r) => lifecycle.logEntries(r).map((e) => ({ id: r.id, region: r.region, e })))
      .sort((a, b) => (a.e.ns < b.e.ns ? -1 : a.e.ns > b.e.ns ? 1 : 0));
    const after = token === null ? undefined : BigInt(token);
    const page =
      after === undefined ? entries.slice(-PAGE) : entries.filter((x) => x.e.ns > after).slice(0, PAGE);
    const last = page.at(-1)?.e.ns ?? after;
    return {
      status: 200,
      body: {
        data: page.map(({ id, region, e }) => ({
          id: `${id}-${e.ns}`,
          type: 'log',
          attributes: {
            timestamp: new Date(e.at).toISOString(),
            message: e.line,
            level: e.stream === 'stderr' ? 'error' : 'info',
            instance: id,
            region,
            meta: { event: { provider: 'app' } },
          },
        })),
        meta: { next_token: last === undefined ? '0' : String(last) },
      },
    };
  }

  return [
    {
      method: 'GET',
      template: '/api/v1/apps/:app/logs',
      pattern: /^\/api\/v1\/apps\/([^/]+)\/logs$/,
      handler: logs,
    },
  ];
}
