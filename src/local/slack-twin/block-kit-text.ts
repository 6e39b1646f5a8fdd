/**
 * Block Kit as terminal text: header as `# Title`, section text as is, fields as `key: value`,
 * context as a dim `› …` line, dividers as a rule, and buttons as `[1 Destroy] [2 Diagnose]` with
 * numbers given by the caller (so the shell can press them). Slack's mrkdwn links and mentions are
 * made readable (`<@U1>` → `@U1`, `<url|label>` → `label (url)`).
 */
import type { SlackBlock } from './slack-workspace.ts';

export interface RenderedButton {
  blockId: string;
  actionId: string;
  text: string;
  value: string | undefined;
  style: string | undefined;
  url: string | undefined;
  confirm: ButtonConfirm | undefined;
}

export interface ButtonConfirm {
  title: string;
  text: string;
  confirm: string;
  deny: string;
}

export interface BlockTextLine {
  text: string;
  tone: 'plain' | 'header' | 'dim' | 'buttons';
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The emoji vyxbot uses, as a terminal shows them (Slack renders the :names: itself). */
const EMOJI: Record<string, string> = {
  hourglass_flowing_sand: '⏳',
  large_green_circle: '🟢',
  red_circle: '🔴',
  white_circle: '⚪',
  black_circle: '⚫',
  double_vertical_bar: '⏸',
  grey_question: '❔',
  rotating_light: '🚨',
  repeat: '🔁',
  warning: '⚠️',
  white_check_mark: '✅',
  x: '❌',
  ghost: '👻',
  no_bell: '🔕',
};

/** Slack markup to plain text. */
export function slackText(text: string): string {
  return text
    .replace(/:([a-z0-9_+-]+):/g, (m, name: string) => EMOJI[name] ?? m)
    .replace(/<@([A-Z0-9]+)(?:\|([^>]+))?>/g, (_m, id: string, name?: string) => `@${name ?? id}`)
    .replace(/<#([A-Z0-9]+)(?:\|([^>]*))?>/g, (_m, id: string, name?: string) => `#${name || id}`)
    .replace(/<!(here|channel|everyone)>/g, '@$1')
    .replace(/<((?:https?|file|mailto):[^|>]+)\|([^>]+)>/g, '$2 ($1)')
    .replace(/<((?:https?|file|mailto):[^>]+)>/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function textOf(v: unknown): string {
  if (typeof v === 'string') return slackText(v);
  if (isObj(v) && typeof v.text === 'string') return slackText(v.text);
  return '';
}

/** A section field `*Key*\nvalue` (or `*Key*: value`) as `Key: value`. */
export function fieldText(raw: string): string {
  const text = slackText(raw);
  const nl = /^\s*\*?([^*\n]+?)\*?:?\s*\n([\s\S]*)$/.exec(text);
  if (nl) return `${nl[1]!.trim()}: ${nl[2]!.trim().replace(/\s*\n\s*/g, ' ')}`;
  const colon = /^\s*\*([^*\n]+)\*:?\s+(.*)$/s.exec(text);
  if (colon) return `${colon[1]!.trim()}: ${colon[2]!.trim()}`;
  return text.trim();
}

function buttonOf(el: Obj, blockId: string): RenderedButton | undefined {
  if (el.type !== 'button') return undefined;
  const c = isObj(el.confirm) ? el.confirm : undefined;
  return {
    blockId,
    actionId: typeof el.action_id === 'string' ? el.action_id : '',
    text: textOf(el.text),
    value: typeof el.value === 'string' ? el.value : undefined,
    style: typeof el.style === 'string' ? el.style : undefined,
    url: typeof el.url === 'string' ? el.url : undefined,
    confirm: c
      ? {
          title: textOf(c.title) || 'Are you sure?',
          text: textOf(c.text),
          confirm: textOf(c.confirm) || 'Yes',
          deny: textOf(c.deny) || 'Cancel',
        }
      : undefined,
  };
}

function richText(v: unknown): string {
  if (Array.isArray(v)) return v.map(richText).join('');
  if (!isObj(v)) return '';
  if (typeof v.text === 'string') return v.text;
  if (v.type === 'user' && typeof v.user_id === 'string') return `@${v.user_id}`;
  if (v.type === 'link' && typeof v.url === 'string') return v.url;
  if (Array.isArray(v.elements)) {
    const inner = richText(v.elements);
    return v.type === 'rich_text_preformatted'
      ? `\n${inner}\n`
      : v.type === 'rich_text_list'
        ? `${inner}\n`
        : inner;
  }
  return '';
}

/**
 * Lines for a message's blocks. `number(button)` gives the number shown for each pressable button.
 */
export function blocksToLines(
  blocks: SlackBlock[],
  number: (button: RenderedButton) => number,
): { lines: BlockTextLine[]; buttons: RenderedButton[] } {
  const lines: BlockTextLine[] = [];
  const buttons: RenderedButton[] = [];
  const label = (b: RenderedButton) => {
    buttons.push(b);
    return b.url ? `[${number(b)} ${b.text} ↗ ${b.url}]` : `[${number(b)} ${b.text}${b.confirm ? '…' : ''}]`;
  };
  const push = (text: string, tone: BlockTextLine['tone'] = 'plain') => {
    for (const line of text.split('\n')) lines.push({ text: line, tone });
  };
  for (const block of blocks) {
    const blockId = typeof block.block_id === 'string' ? block.block_id : '';
    switch (block.type) {
      case 'header':
        push(`# ${textOf(block.text)}`, 'header');
        break;
      case 'section': {
        if (block.text !== undefined) push(textOf(block.text));
        if (Array.isArray(block.fields)) for (const f of block.fields) push(fieldText(textOf(f)));
        const acc = isObj(block.accessory) ? block.accessory : undefined;
        const b = acc ? buttonOf(acc, blockId) : undefined;
        if (b) push(label(b), 'buttons');
        else if (acc) push(`[${String(acc.type)}]`, 'dim');
        break;
      }
      case 'context': {
        const parts = (Array.isArray(block.elements) ? block.elements : []).map((e) =>
          isObj(e) && e.type === 'image' ? `[image: ${String(e.alt_text ?? '')}]` : textOf(e),
        );
        push(`› ${parts.join(' · ')}`, 'dim');
        break;
      }
      case 'actions': {
        const parts: string[] = [];
        for (const e of Array.isArray(block.elements) ? block.elements : []) {
          if (!isObj(e)) continue;
          const b = buttonOf(e, blockId);
          parts.push(
            b ? label(b) : `[${String(e.type)}${isObj(e.placeholder) ? `: ${textOf(e.placeholder)}` : ''}]`,
          );
        }
        push(parts.join(' '), 'buttons');
        break;
      }
      case 'divider':
        push('────────────────────────', 'dim');
        break;
      case 'image':
        push(`[image: ${String(block.alt_text ?? '')}]`, 'dim');
        break;
      case 'markdown':
        push(typeof block.text === 'string' ? block.text : '');
        break;
      case 'rich_text':
        push(richText(block.elements).replace(/\n+$/, ''));
        break;
      case 'input':
        push(inputLine(block));
        break;
      default:
        push(`[${block.type} block]`, 'dim');
    }
  }
  return { lines, buttons };
}

/** A modal's input block as a line: its label and what it holds (`▸ Region: [choose 1 of 35 · ams]`). */
export function inputLine(block: SlackBlock): string {
  const el = isObj(block.element) ? block.element : {};
  const chosen = isObj(el.initial_option) ? String(el.initial_option.value) : undefined;
  const what =
    el.type === 'static_select'
      ? `choose 1 of ${Array.isArray(el.options) ? el.options.length : 0}${chosen ? ` · ${chosen}` : ''}`
      : el.type === 'plain_text_input'
        ? `type text${typeof el.initial_value === 'string' && el.initial_value ? ` · ${el.initial_value}` : ''}`
        : String(el.type);
  return `▸ ${textOf(block.label)}${block.optional === true ? ' (optional)' : ''}: [${what}]`;
}
