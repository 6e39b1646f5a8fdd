/**
 * The Slack twin's control endpoints (`npm run twin:slack`), for a person or a test standing in for
 * the people of a workspace: type a command, press a button, read a channel, recycle connections.
 *
 * - `POST /_twin/command` `{text, user?, channel?}` → the Socket Mode envelope delivered
 * - `POST /_twin/button` `{actionId, value, channel, messageTs, user?}` → the envelope
 * - `GET /_twin/messages?channel=C…` → top-level messages, each with its thread replies
 * - `GET /_twin/ephemerals` → what the people were told privately
 * - `GET /_twin/envelopes` → every envelope with its deliveries and acknowledgements
 * - `POST /_twin/disconnect` `{reason}` (`warning`, `refresh_requested`) · `POST /_twin/drop`
 */
import type { IncomingMessage } from 'node:http';
import { readBody } from './request-body.ts';
import type { SlackApiServer } from './slack-api-server.ts';
import type { MethodResult } from './slack-web-methods.ts';

const ok = (body: Record<string, unknown>): MethodResult => ({ status: 200, body: { ok: true, ...body } });
const bad = (error: string, status = 400): MethodResult => ({ status, body: { ok: false, error } });

export function twinControl(
  twin: () => SlackApiServer,
): (req: IncomingMessage, url: URL) => Promise<MethodResult> | undefined {
  return (req, url) => {
    if (!url.pathname.startsWith('/_twin/')) return undefined;
    return (async () => {
      const slack = twin();
      const route = `${req.method} ${url.pathname}`;
      let body: Record<string, unknown> = {};
      if (req.method === 'POST') {
        try {
          const raw = await readBody(req);
          body = raw.trim() === '' ? {} : (JSON.parse(raw) as Record<string, unknown>);
        } catch {
          return bad('invalid_json');
        }
      }
      const str = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : undefined);
      if (!slack.socketMode && route.startsWith('POST')) return bad('socket_mode_off', 409);
      switch (route) {
        case 'POST /_twin/command': {
          const text = str('text');
          if (text === undefined) return bad('text_required');
          const user = str('user');
          const channel = str('channel');
          return ok({
            envelope: slack.command({ text, ...(user ? { user } : {}), ...(channel ? { channel } : {}) }),
          });
        }
        case 'POST /_twin/button': {
          const [actionId, value, channel, messageTs] = ['actionId', 'value', 'channel', 'messageTs'].map(
            str,
          );
          if (!actionId || value === undefined || !channel || !messageTs)
            return bad('actionId_value_channel_messageTs_required');
          const user = str('user');
          return ok({
            envelope: slack.pressButton({ actionId, value, channel, messageTs, ...(user ? { user } : {}) }),
          });
        }
        case 'POST /_twin/disconnect': {
          const reason = str('reason') ?? 'refresh_requested';
          if (!['warning', 'refresh_requested', 'link_disabled'].includes(reason)) return bad('bad_reason');
          slack.socketMode!.sendDisconnect(reason as 'warning');
          return ok({ connections: slack.socketMode!.connections() });
        }
        case 'POST /_twin/drop':
          slack.socketMode!.drop();
          return ok({});
        case 'GET /_twin/messages': {
          const channel = url.searchParams.get('channel') ?? slack.identity.channelId;
          const messages = slack.messages(channel).map((m) => ({
            ...m,
            replies: slack.thread(m.channel, m.ts).slice(1),
          }));
          return ok({ messages });
        }
        case 'GET /_twin/ephemerals':
          return ok({ ephemerals: slack.workspace.ephemerals() });
        case 'GET /_twin/envelopes':
          return ok({
            connections: slack.socketMode?.connections() ?? 0,
            envelopes: slack.socketMode?.envelopes() ?? [],
          });
        default:
          return bad('not_found', 404);
      }
    })();
  };
}
