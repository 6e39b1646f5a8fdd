/**
 * Checks Block Kit blocks the way Slack rejects them (`invalid_blocks`, with
 * `response_metadata.messages` naming the place as `[ERROR] … [json-pointer:/blocks/0/text]`), for
 * the blocks and elements the bot uses (header, section, context, actions, divider, image,
 * markdown, rich_text, input; buttons with confirm dialogs, static_select, plain_text_input).
 * Limits are Slack's (reference §6; Block Kit reference for input, static_select and
 * plain_text_input). Messages hold 50 blocks, views (modal, Home tab) 100; input blocks go in
 * views, not messages. Blocks without `block_id` and elements without `action_id` get generated ones, as Slack
 * does.
 */
import type { SlackBlock } from './slack-workspace.ts';

export type BlockCheck = { ok: true; blocks: SlackBlock[] } | { ok: false; messages: string[] };

const KNOWN_BLOCKS = new Set([
  'section',
  'header',
  'context',
  'actions',
  'divider',
  'image',
  'markdown',
  'rich_text',
  'input',
  'file',
  'video',
  'context_actions',
]);

const INPUT_ELEMENTS = new Set(['plain_text_input', 'static_select']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Where the blocks go: a message (50 blocks), a modal or the Home tab (100). */
export type BlockSurface = 'message' | 'modal' | 'home';

export function checkBlocks(
  value: unknown,
  idSeed: () => string,
  options: { surface?: BlockSurface; pointer?: string } = {},
): BlockCheck {
  const surface = options.surface ?? 'message';
  const base = options.pointer ?? '/blocks';
  const errors: string[] = [];
  const err = (msg: string, pointer: string) =>
    errors.push(`[ERROR] ${msg} [json-pointer:${base}${pointer.slice('/blocks'.length)}]`);
  if (!Array.isArray(value))
    return { ok: false, messages: [`[ERROR] must be an array [json-pointer:${base}]`] };
  const maxBlocks = surface === 'message' ? 50 : 100;
  if (value.length > maxBlocks) err(`no more than ${maxBlocks} items allowed`, '/blocks');
  const blockIds = new Set<string>();
  const blocks: SlackBlock[] = [];
  value.forEach((raw, i) => {
    const at = `/blocks/${i}`;
    if (!isObj(raw) || typeof raw.type !== 'string') {
      err('must be an object with a string type', at);
      return;
    }
    const block = structuredClone(raw) as SlackBlock;
    if (!KNOWN_BLOCKS.has(block.type)) err(`unsupported type: ${block.type}`, `${at}/type`);
    if (block.block_id !== undefined) {
      if (typeof block.block_id !== 'string' || block.block_id.length > 255 || block.block_id === '')
        err('block_id must be a string of 1–255 characters', `${at}/block_id`);
      else if (blockIds.has(block.block_id)) err(`duplicate block_id: ${block.block_id}`, `${at}/block_id`);
      else blockIds.add(block.block_id);
    } else {
      block.block_id = idSeed();
    }
    switch (block.type) {
      case 'header':
        checkText(block.text, `${at}/text`, err, { plainOnly: true, max: 150, required: true });
        break;
      case 'section': {
        if (block.text === undefined && block.fields === undefined)
          err('must provide either text or fields', at);
        if (block.text !== undefined) checkText(block.text, `${at}/text`, err, { max: 3000 });
        if (block.fields !== undefined) {
          if (!Array.isArray(block.fields) || block.fields.length === 0 || block.fields.length > 10)
            err('fields must hold 1–10 text objects', `${at}/fields`);
          else
            block.fields.forEach((f, j) => {
              checkText(f, `${at}/fields/${j}`, err, { max: 2000 });
            });
        }
        if (block.accessory !== undefined) checkElement(block.accessory, `${at}/accessory`, err, idSeed);
        break;
      }
      case 'context': {
        const els = block.elements;
        if (!Array.isArray(els) || els.length === 0 || els.length > 10)
          err('elements must hold 1–10 items', `${at}/elements`);
        else
          els.forEach((e, j) => {
            if (isObj(e) && e.type === 'image') return;
            checkText(e, `${at}/elements/${j}`, err, { max: 3000 });
          });
        break;
      }
      case 'actions': {
        const els = block.elements;
        if (!Array.isArray(els) || els.length === 0 || els.length > 25)
          err('elements must hold 1–25 items', `${at}/elements`);
        else {
          const actionIds = new Set<string>();
          els.forEach((e, j) => {
            checkElement(e, `${at}/elements/${j}`, err, idSeed);
            if (isObj(e) && typeof e.action_id === 'string') {
              if (actionIds.has(e.action_id))
                err(`duplicate action_id: ${e.action_id}`, `${at}/elements/${j}`);
              actionIds.add(e.action_id);
            }
          });
        }
        break;
      }
      case 'image':
        if (typeof block.alt_text !== 'string') err('must provide alt_text', `${at}/alt_text`);
        break;
      case 'markdown':
        if (typeof block.text !== 'string' || block.text === '') err('must provide text', `${at}/text`);
        break;
      case 'input':
        // Block Kit's input block reference: modals and Home tabs, not messages.
        if (surface === 'message') err('input blocks are not allowed in messages', `${at}/type`);
        checkText(block.label, `${at}/label`, err, { plainOnly: true, max: 2000, required: true });
        checkText(block.hint, `${at}/hint`, err, { plainOnly: true, max: 2000 });
        if (block.optional !== undefined && typeof block.optional !== 'boolean')
          err('optional must be a boolean', `${at}/optional`);
        if (!isObj(block.element)) err('must provide an element', `${at}/element`);
        else if (!INPUT_ELEMENTS.has(String(block.element.type)))
          err(`unsupported element type: ${String(block.element.type)}`, `${at}/element/type`);
        else checkElement(block.element, `${at}/element`, err, idSeed);
        break;
      default:
        break;
    }
    blocks.push(block);
  });
  return errors.length === 0 ? { ok: true, blocks } : { ok: false, messages: errors };
}

function checkText(
  value: unknown,
  at: string,
  err: (msg: string, pointer: string) => void,
  opts: { plainOnly?: boolean; max?: number; required?: boolean },
): void {
  if (value === undefined) {
    if (opts.required) err('must provide a text object', at);
    return;
  }
  if (!isObj(value)) {
    err('must be a text object', at);
    return;
  }
  if (value.type !== 'plain_text' && value.type !== 'mrkdwn') {
    err('type must be plain_text or mrkdwn', `${at}/type`);
    return;
  }
  if (opts.plainOnly && value.type !== 'plain_text') {
    err('must be plain_text', `${at}/type`);
    return;
  }
  if (typeof value.text !== 'string' || value.text === '') {
    err('must provide non-empty text', `${at}/text`);
    return;
  }
  if (opts.max !== undefined && value.text.length > opts.max)
    err(`must be less than ${opts.max + 1} characters`, `${at}/text`);
}

function checkElement(
  value: unknown,
  at: string,
  err: (msg: string, pointer: string) => void,
  idSeed: () => string,
): void {
  if (!isObj(value) || typeof value.type !== 'string') {
    err('must be an element with a type', at);
    return;
  }
  if (value.action_id === undefined && value.type !== 'image') value.action_id = idSeed();
  else if (typeof value.action_id === 'string' && value.action_id.length > 255)
    err('action_id must be at most 255 characters', `${at}/action_id`);
  if (value.type === 'static_select') checkStaticSelect(value, at, err);
  if (value.type === 'plain_text_input') checkPlainTextInput(value, at, err);
  if (value.type !== 'button') return;
  checkText(value.text, `${at}/text`, err, { plainOnly: true, max: 75, required: true });
  if (value.value !== undefined && (typeof value.value !== 'string' || value.value.length > 2000))
    err('value must be a string of at most 2000 characters', `${at}/value`);
  if (value.style !== undefined && value.style !== 'primary' && value.style !== 'danger')
    err('style must be primary or danger', `${at}/style`);
  if (value.url !== undefined && typeof value.url !== 'string') err('url must be a string', `${at}/url`);
  if (value.confirm !== undefined) {
    const c = value.confirm;
    if (!isObj(c)) {
      err('confirm must be a confirmation dialog object', `${at}/confirm`);
      return;
    }
    checkText(c.title, `${at}/confirm/title`, err, { plainOnly: true, max: 100, required: true });
    checkText(c.text, `${at}/confirm/text`, err, { max: 300, required: true });
    checkText(c.confirm, `${at}/confirm/confirm`, err, { plainOnly: true, max: 30, required: true });
    checkText(c.deny, `${at}/confirm/deny`, err, { plainOnly: true, max: 30, required: true });
    if (c.style !== undefined && c.style !== 'primary' && c.style !== 'danger')
      err('style must be primary or danger', `${at}/confirm/style`);
  }
}

/** static_select: 1–100 options (text ≤ 75, value ≤ 150, values unique), placeholder ≤ 150, initial_option one of them. */
function checkStaticSelect(value: Obj, at: string, err: (msg: string, pointer: string) => void): void {
  checkText(value.placeholder, `${at}/placeholder`, err, { plainOnly: true, max: 150 });
  const options = value.options;
  if (value.option_groups !== undefined) {
    err('option_groups are not supported by this twin; use options', `${at}/option_groups`);
    return;
  }
  if (!Array.isArray(options) || options.length === 0 || options.length > 100) {
    err('options must hold 1–100 items', `${at}/options`);
    return;
  }
  const values = new Set<string>();
  options.forEach((o, i) => {
    const p = `${at}/options/${i}`;
    if (!isObj(o)) {
      err('must be an option object', p);
      return;
    }
    checkText(o.text, `${p}/text`, err, { plainOnly: true, max: 75, required: true });
    if (typeof o.value !== 'string' || o.value === '' || o.value.length > 150)
      err('value must be a string of 1–150 characters', `${p}/value`);
    else if (values.has(o.value)) err(`duplicate option value: ${o.value}`, `${p}/value`);
    else values.add(o.value);
  });
  if (value.initial_option !== undefined) {
    const initial = value.initial_option;
    if (!isObj(initial) || typeof initial.value !== 'string' || !values.has(initial.value))
      err('initial_option must be one of the options', `${at}/initial_option`);
  }
}

/** plain_text_input: placeholder ≤ 150, lengths 0–3000, initial_value a string within them. */
function checkPlainTextInput(value: Obj, at: string, err: (msg: string, pointer: string) => void): void {
  checkText(value.placeholder, `${at}/placeholder`, err, { plainOnly: true, max: 150 });
  for (const key of ['min_length', 'max_length'] as const) {
    const n = value[key];
    if (n !== undefined && (!Number.isInteger(n) || (n as number) < 0 || (n as number) > 3000))
      err(`${key} must be a whole number from 0 to 3000`, `${at}/${key}`);
  }
  if (value.initial_value !== undefined && typeof value.initial_value !== 'string')
    err('initial_value must be a string', `${at}/initial_value`);
  if (value.multiline !== undefined && typeof value.multiline !== 'boolean')
    err('multiline must be a boolean', `${at}/multiline`);
}
