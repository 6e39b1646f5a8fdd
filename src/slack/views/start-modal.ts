import type { KnownBlock } from '../cards/card-parts.ts';
import { clip } from '../cards/card-parts.ts';

/** The start dialog's ids: its callback_id and the input blocks a view_submission carries back. */
export const START_MODAL = {
  callbackId: 'vyx_start',
  regionBlock: 'vyx_start_region',
  regionAction: 'region',
  imageBlock: 'vyx_start_image',
  imageAction: 'image',
} as const;

/** Block Kit: a static_select holds at most 100 options. */
export const MAX_SELECT_OPTIONS = 100;

export interface StartModalInput {
  /** Fly's regions, or undefined when Fly could not list them (the region is typed instead). */
  regions: { code: string; name: string }[] | undefined;
  defaultRegion: string;
  /** Tags the registry confirmed (the default's first); only the default when it could not list them. */
  tags: string[];
  defaultTag: string;
  /** Why a list is short or typed, said in the dialog (e.g. the registry could not list tags). */
  notes: string[];
  /** Where `/vyx start` was typed: the thread and the answers go there. */
  channel: string;
}

/** A view as views.open takes it. */
export interface ModalView {
  type: 'modal';
  callback_id: string;
  title: { type: 'plain_text'; text: string };
  submit: { type: 'plain_text'; text: string };
  close: { type: 'plain_text'; text: string };
  private_metadata: string;
  blocks: KnownBlock[];
}

const option = (value: string, text: string) => ({
  text: { type: 'plain_text' as const, text: clip(text, 75) },
  value,
});

/** The start dialog: region (chosen from Fly's, or typed) and image tag (chosen from the registry's). */
export function startModal(input: StartModalInput): ModalView {
  const regions = input.regions?.slice(0, MAX_SELECT_OPTIONS);
  const regionOptions = regions?.map((r) => option(r.code, `${r.code} · ${r.name}`));
  const initialRegion = regionOptions?.find((o) => o.value === input.defaultRegion);
  const tags = [input.defaultTag, ...input.tags.filter((t) => t !== input.defaultTag)].slice(
    0,
    MAX_SELECT_OPTIONS,
  );
  const tagOptions = tags.map((t) => option(t, t === input.defaultTag ? `${t} (default)` : t));
  const blocks: KnownBlock[] = [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: 'Starts your cloud machine on Fly (one at a time). The same as `/vyx start --region R --image TAG`.',
      },
    },
    regionOptions && regionOptions.length > 0
      ? {
          type: 'input',
          block_id: START_MODAL.regionBlock,
          label: { type: 'plain_text', text: 'Region' },
          element: {
            type: 'static_select',
            action_id: START_MODAL.regionAction,
            placeholder: { type: 'plain_text', text: 'Choose a Fly region' },
            options: regionOptions,
            ...(initialRegion ? { initial_option: initialRegion } : {}),
          },
        }
      : {
          type: 'input',
          block_id: START_MODAL.regionBlock,
          label: { type: 'plain_text', text: 'Region' },
          hint: { type: 'plain_text', text: 'Three lowercase letters, e.g. ams, iad, cdg.' },
          element: {
            type: 'plain_text_input',
            action_id: START_MODAL.regionAction,
            initial_value: input.defaultRegion,
            max_length: 3,
          },
        },
    {
      type: 'input',
      block_id: START_MODAL.imageBlock,
      label: { type: 'plain_text', text: 'Image tag' },
      element: {
        type: 'static_select',
        action_id: START_MODAL.imageAction,
        placeholder: { type: 'plain_text', text: 'Choose an image tag' },
        options: tagOptions,
        initial_option: tagOptions[0]!,
      },
    },
  ];
  if (input.notes.length > 0)
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: clip(input.notes.join('\n'), 3000) }],
    });
  return {
    type: 'modal',
    callback_id: START_MODAL.callbackId,
    title: { type: 'plain_text', text: 'Start a machine' },
    submit: { type: 'plain_text', text: 'Start' },
    close: { type: 'plain_text', text: 'Cancel' },
    private_metadata: JSON.stringify({ channel: input.channel }),
    blocks,
  };
}

type StateValues = Record<
  string,
  Record<string, { value?: string | null; selected_option?: { value?: string } | null }>
>;

/** What a start dialog's submission asks for, and where; undefined pieces were left empty. */
export function readStartSubmission(view: { private_metadata?: string; state?: { values?: unknown } }): {
  region: string | undefined;
  tag: string | undefined;
  channel: string | undefined;
} {
  const values = (view.state?.values ?? {}) as StateValues;
  const pick = (block: string, action: string) => {
    const v = values[block]?.[action];
    const raw = v?.selected_option?.value ?? v?.value ?? undefined;
    return typeof raw === 'string' && raw.trim() !== '' ? raw.trim() : undefined;
  };
  let channel: string | undefined;
  try {
    const meta = JSON.parse(view.private_metadata ?? '') as { channel?: unknown };
    // Only a channel id as Slack writes them: the metadata comes back from outside.
    if (typeof meta.channel === 'string' && /^[CDGU][A-Z0-9]{2,}$/.test(meta.channel)) channel = meta.channel;
  } catch {
    channel = undefined;
  }
  return {
    region: pick(START_MODAL.regionBlock, START_MODAL.regionAction),
    tag: pick(START_MODAL.imageBlock, START_MODAL.imageAction),
    channel,
  };
}
