/**
 * What a failed Slack Web API call means for a retry. Permanent: Slack will answer the same until a
 * person changes something (the bot invited, the channel unarchived, the message shortened) — retrying
 * only floods the log and blocks the queue. Transient: Slack or the network is having a moment
 * (rate limit, 5xx, timeout, connection refused) — retry with backoff.
 */
export interface SlackFailure {
  permanent: boolean;
  /** Slack's error code (`channel_not_found`, …), or `unreachable` / `http_<status>` / `ratelimited`. */
  code: string;
}

/** Where the message cannot go: the fallback tries the next place. */
export const PLACE_ERRORS = new Set([
  'thread_not_found',
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'restricted_action',
  'restricted_action_read_only_channel',
  'restricted_action_thread_only_channel',
  'restricted_action_non_threadable_channel',
  'team_access_not_granted',
  'ekm_access_denied',
  'channel_is_archived',
]);

/** Slack answers that say "try later" rather than "never" (or "these credentials are wrong"). */
export const SLACK_TRANSIENT_ERRORS: ReadonlySet<string> = new Set([
  'ratelimited',
  'rate_limited',
  'fatal_error',
  'internal_error',
  'service_unavailable',
  'request_timeout',
]);

/** A post's answers that say "later": the transient ones, and a workspace moving into an org. */
const TRANSIENT = new Set([...SLACK_TRANSIENT_ERRORS, 'team_added_to_org']);

export function classifySlackError(err: unknown): SlackFailure {
  const e = err as { code?: unknown; data?: { error?: unknown }; statusCode?: unknown } | undefined;
  if (e?.code === 'slack_webapi_platform_error' && typeof e.data?.error === 'string') {
    const code = e.data.error;
    return { permanent: !TRANSIENT.has(code), code };
  }
  if (e?.code === 'slack_webapi_rate_limited_error') return { permanent: false, code: 'ratelimited' };
  if (e?.code === 'slack_webapi_http_error') {
    const status = Number(e.statusCode);
    // 4xx other than 408/429 will not change by waiting.
    return {
      permanent: status >= 400 && status < 500 && status !== 408 && status !== 429,
      code: `http_${status}`,
    };
  }
  return { permanent: false, code: 'unreachable' };
}

/** What to tell the person who asked, when the bot could not post where they asked. */
export function cannotPostHere(failure: SlackFailure, channel: string): string {
  const here = `<#${channel}>`;
  switch (failure.code) {
    case 'channel_not_found':
    case 'not_in_channel':
      return `I can't post in ${here}: it is a private channel or a DM I am not in. Invite me with \`/invite @vyx\` there, or run \`/vyx start\` in a channel I am in.`;
    case 'is_archived':
    case 'channel_is_archived':
      return `I can't post in ${here}: it is archived. Run \`/vyx start\` in a channel that is not.`;
    default:
      return failure.permanent
        ? `I can't post in ${here} (Slack answered \`${failure.code}\`).`
        : `I couldn't post in ${here} just now: Slack did not answer (${failure.code}).`;
  }
}
