import type { Metrics } from '../metrics.ts';
import type { SlackPoster } from '../slack/slack-poster.ts';
import type { ViewPublisher } from '../slack/views/view-publisher.ts';

/** Slack's error code for a failed Web API call (`ratelimited`, `channel_not_found`, …), else `error`. */
export function slackStatus(err: unknown): string {
  const e = err as { data?: { error?: unknown }; code?: unknown } | undefined;
  if (typeof e?.data?.error === 'string') return e.data.error;
  if (e?.code === 'slack_webapi_rate_limited_error') return 'ratelimited';
  if (e?.code === 'slack_webapi_request_error') return 'request_error';
  return 'error';
}

async function counted<T>(metrics: Metrics, method: string, call: () => Promise<T>): Promise<T> {
  try {
    const r = await call();
    metrics.slackCalls.inc({ method, status: 'ok' });
    return r;
  } catch (err) {
    metrics.slackCalls.inc({ method, status: slackStatus(err) });
    throw err;
  }
}

/** The same poster, each Web API call counted by method and status. */
export function countSlackCalls(poster: SlackPoster, metrics: Metrics | undefined): SlackPoster {
  if (!metrics) return poster;
  return {
    post: (m) => counted(metrics, 'chat.postMessage', () => poster.post(m)),
    update: (m) => counted(metrics, 'chat.update', () => poster.update(m)),
    ephemeral: (m) => counted(metrics, 'chat.postEphemeral', () => poster.ephemeral(m)),
    findDelivered: (channel, threadTs, eventId) =>
      counted(metrics, threadTs ? 'conversations.replies' : 'conversations.history', () =>
        poster.findDelivered(channel, threadTs, eventId),
      ),
  };
}

/** The same view publisher, views.publish and views.open counted by status. */
export function countViewCalls(views: ViewPublisher, metrics: Metrics | undefined): ViewPublisher {
  if (!metrics) return views;
  return {
    publishHome: (userId, view) => counted(metrics, 'views.publish', () => views.publishHome(userId, view)),
    openModal: (triggerId, view) => counted(metrics, 'views.open', () => views.openModal(triggerId, view)),
  };
}
