import type { ClaimedEvent } from '../store/store-schemas.ts';
import type { VyxStore } from '../store/vyx-store.ts';
import type { KnownBlock } from './cards/card-parts.ts';
import { classifySlackError, PLACE_ERRORS } from './slack-errors.ts';
import type { SlackPoster } from './slack-poster.ts';

/** Where a message may go, in the order tried. */
interface Place {
  channel: string;
  threadTs?: string;
  label: 'thread' | 'channel' | 'alert channel' | 'owner DM';
}

export interface FallbackPosterOptions {
  slack: SlackPoster;
  store: Pick<VyxStore, 'getMachine'>;
  /** The operators' channel, last in line. */
  alertChannel?: string;
  /** The echo's per-channel pacing: before a post, and once Slack answered it. */
  pace: (channel: string) => Promise<void>;
  paced?: (channel: string) => void;
}

/**
 * The echo's poster for messages Slack may refuse for good where they belong (thread deleted,
 * channel private, bot not invited, channel archived): it falls back thread → channel → a direct
 * message to the machine's owner → the alert channel, each fallback saying why, and remembers the
 * refused places so later events skip them.
 */
export class FallbackPoster {
  private readonly o: FallbackPosterOptions;
  /** Places Slack refused for good (`channel|thread` → its error). */
  private readonly refusedPlaces = new Map<string, string>();

  constructor(options: FallbackPosterOptions) {
    this.o = options;
  }

  /** Whether Slack refused this message's thread or channel for good. */
  refused(channel: string, threadTs: string): boolean {
    return this.refusedPlaces.has(`${channel}|${threadTs}`) || this.refusedPlaces.has(`${channel}|`);
  }

  /**
   * Posts where the message belongs (the thread, else the channel); where Slack refuses that place
   * for good, the next: the channel, a direct message to the machine's owner, the alert channel —
   * each fallback saying why. `setAside` says the events did not reach their place.
   */
  async post(
    head: ClaimedEvent,
    home: { channel: string; threadTs?: string },
    card: { text: string; blocks: KnownBlock[] },
    shown: ClaimedEvent[],
  ): Promise<{ ts: string | null; setAside?: string; code?: string; fallback: string }> {
    const places: Place[] = [];
    if (home.threadTs) places.push({ ...home, label: 'thread' } as Place);
    places.push({ channel: home.channel, label: head.slack_channel ? 'channel' : 'alert channel' });
    const failures: { place: Place; code: string }[] = [];
    let extended = false;
    for (let i = 0; i < places.length; i++) {
      const place = places[i]!;
      const key = `${place.channel}|${place.threadTs ?? ''}`;
      const known = this.refusedPlaces.get(key);
      if (!known) {
        const note = failures.length ? this.note(failures, head.machine_id, place) : undefined;
        try {
          await this.o.pace(place.channel);
          const posted = await this.o.slack
            .post({
              channel: place.channel,
              ...(place.threadTs ? { threadTs: place.threadTs } : {}),
              text: note ? `${note}\n${card.text}` : card.text,
              blocks: note
                ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: note }] }, ...card.blocks]
                : card.blocks,
              eventIds: shown.map((e) => e.id),
            })
            .finally(() => this.o.paced?.(place.channel));
          if (failures.length === 0) return { ts: posted.ts, fallback: place.label };
          return {
            ts: posted.ts,
            setAside: `${failures.map((f) => `${f.code} in the ${f.place.label} (${f.place.channel})`).join('; ')}; posted to the ${place.label} instead`,
            code: failures[0]!.code,
            fallback: place.label,
          };
        } catch (err) {
          const failure = classifySlackError(err);
          if (!failure.permanent || !PLACE_ERRORS.has(failure.code)) throw err;
          if (this.refusedPlaces.size > 1_000) this.refusedPlaces.clear();
          this.refusedPlaces.set(key, failure.code);
          failures.push({ place, code: failure.code });
        }
      } else {
        failures.push({ place, code: known });
      }
      // Past the row's own channel: its owner, then the operators.
      if (i === places.length - 1 && !extended && head.slack_channel) {
        extended = true;
        const row = await this.o.store.getMachine(head.machine_id).catch(() => undefined);
        if (row?.requested_by) places.push({ channel: row.requested_by, label: 'owner DM' });
        if (this.o.alertChannel && this.o.alertChannel !== home.channel)
          places.push({ channel: this.o.alertChannel, label: 'alert channel' });
      }
    }
    return {
      ts: null,
      setAside: `${failures.map((f) => `${f.code} in the ${f.place.label} (${f.place.channel})`).join('; ')}; nowhere left to post`,
      code: failures[0]?.code ?? 'unknown',
      fallback: 'none',
    };
  }

  private note(failures: { place: Place; code: string }[], machineId: string, to: Place): string {
    const first = failures[0]!;
    const where =
      first.place.label === 'thread'
        ? `its thread in <#${first.place.channel}>`
        : `<#${first.place.channel}>`;
    const fix =
      first.code === 'channel_not_found' || first.code === 'not_in_channel'
        ? ' — invite @vyx there (`/invite @vyx`) to get these updates in place'
        : first.code === 'is_archived'
          ? ' — the channel is archived'
          : '';
    return `:warning: About machine \`${machineId}\`: I couldn't post this in ${where} (Slack answered \`${first.code}\`)${fix}.${to.label === 'alert channel' ? ' Posted here for operators.' : ''}`;
  }
}
