import type { webApi } from '@slack/bolt';
import type { KnownBlock } from './cards/card-parts.ts';

/** Message metadata that marks a post as the delivery of one outbox event (to find it after a crash). */
export const EVENT_METADATA_TYPE = 'vyx_event';

export interface PostMessage {
  channel: string;
  threadTs?: string;
  text: string;
  blocks?: KnownBlock[];
  /** The outbox event this post delivers. */
  eventIds?: number[];
}

/** What the bot needs from Slack's Web API (injectable; Bolt's client in production). */
export interface SlackPoster {
  post(message: PostMessage): Promise<{ channel: string; ts: string }>;
  /** `eventIds`: the outbox events the message now delivers (replaces its metadata). */
  update(message: {
    channel: string;
    ts: string;
    text: string;
    blocks?: KnownBlock[];
    eventIds?: number[];
  }): Promise<void>;
  ephemeral(message: { channel: string; user: string; text: string; blocks?: KnownBlock[] }): Promise<void>;
  /** The ts of a message already delivering this event in the thread (or channel), if any. */
  findDelivered(channel: string, threadTs: string | undefined, eventId: number): Promise<string | null>;
}

const eventMetadata = (ids: number[]) => ({
  event_type: EVENT_METADATA_TYPE,
  event_payload: { event_ids: ids.join(',') },
});

export function slackPosterFrom(client: webApi.WebClient): SlackPoster {
  return {
    async post(m) {
      const r = await client.chat.postMessage({
        channel: m.channel,
        text: m.text,
        ...(m.blocks ? { blocks: m.blocks } : {}),
        ...(m.threadTs ? { thread_ts: m.threadTs } : {}),
        ...(m.eventIds?.length ? { metadata: eventMetadata(m.eventIds) } : {}),
        unfurl_links: false,
      });
      return { channel: r.channel ?? m.channel, ts: r.ts! };
    },
    async update(m) {
      await client.chat.update({
        channel: m.channel,
        ts: m.ts,
        text: m.text,
        ...(m.blocks ? { blocks: m.blocks } : {}),
        ...(m.eventIds?.length ? { metadata: eventMetadata(m.eventIds) } : {}),
      });
    },
    async ephemeral(m) {
      await client.chat.postEphemeral({
        channel: m.channel,
        user: m.user,
        text: m.text,
        ...(m.blocks ? { blocks: m.blocks } : {}),
      });
    },
    async findDelivered(channel, threadTs, eventId) {
      const r = threadTs
        ? await client.conversations.replies({
            channel,
            ts: threadTs,
            include_all_metadata: true,
            limit: 200,
          })
        : await client.conversations.history({ channel, include_all_metadata: true, limit: 200 });
      for (const msg of r.messages ?? []) {
        const meta = (msg as { metadata?: { event_type?: string; event_payload?: { event_ids?: string } } })
          .metadata;
        if (meta?.event_type !== EVENT_METADATA_TYPE) continue;
        if (
          String(meta.event_payload?.event_ids ?? '')
            .split(',')
            .includes(String(eventId))
        )
          return msg.ts ?? null;
      }
      return null;
    },
  };
}
