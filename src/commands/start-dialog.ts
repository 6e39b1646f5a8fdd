import { parseImage } from '../fly/image-ref.ts';
import type { RegionList } from '../fly/region-catalogue.ts';
import type { TagList } from '../fly/registry-client.ts';
import { slackStatus } from '../observability/slack-metrics.ts';
import { MAX_SELECT_OPTIONS, startModal } from '../slack/views/start-modal.ts';
import type { CommandContext, Outcome } from './command-context.ts';

/** Slack's trigger id lives 3 s: the lists get this long, then the dialog opens with what there is. */
const LISTS_DEADLINE_MS = 1_500;

const within = <T>(work: Promise<T>, ms: number, late: T): Promise<T> =>
  Promise.race([work, new Promise<T>((resolve) => setTimeout(() => resolve(late), ms).unref())]);

/**
 * `/vyx start` with no options: the start dialog (views.open with the command's trigger id), region
 * from Fly's regions, image tag from those the registry lists. Nothing is created until it is
 * submitted (register-views.ts checks the answers and starts the machine as the flags would).
 */
export async function openStartDialog(ctx: CommandContext, triggerId: string): Promise<Outcome> {
  const { regions, registry, config, views } = ctx.deps;
  const late = (what: string) => `${what} did not answer within ${LISTS_DEADLINE_MS / 1000} s`;
  const [regionList, tagList] = await Promise.all([
    within<RegionList>(regions.list(), LISTS_DEADLINE_MS, { status: 'unverified', reason: late('Fly') }),
    within<TagList>(
      registry.listTags(config.defaultImage, { limit: MAX_SELECT_OPTIONS }),
      LISTS_DEADLINE_MS,
      {
        status: 'unknown',
        reason: late('the registry'),
      },
    ),
  ]);
  const defaultTag = parseImage(config.defaultImage, registry.policy).tag ?? 'latest';
  const notes: string[] = [];
  if (regionList.status === 'unverified')
    notes.push(`Fly did not list its regions (${regionList.reason}); type a region code.`);
  if (tagList.status === 'unknown')
    notes.push(
      `The registry could not list image tags (${tagList.reason}); only the default image is offered. \`/vyx start --image TAG\` takes another tag.`,
    );
  try {
    await views.openModal(
      triggerId,
      startModal({
        regions: regionList.status === 'listed' ? regionList.regions : undefined,
        defaultRegion: config.defaultRegion,
        tags: tagList.status === 'listed' ? tagList.tags : [],
        defaultTag,
        notes,
        channel: ctx.channelId,
      }),
    );
  } catch (err) {
    const why = slackStatus(err);
    ctx.deps.logger.warn({ err: why }, 'start dialog could not be opened');
    await ctx.reply(
      `I could not open the start dialog (Slack answered \`${why}\`); nothing was created. Try again, or type \`/vyx start --region ${config.defaultRegion} --image ${defaultTag}\`.`,
    );
    return { outcome: 'error', detail: `views.open: ${why}` };
  }
  return { outcome: 'ok', detail: 'start dialog opened' };
}
