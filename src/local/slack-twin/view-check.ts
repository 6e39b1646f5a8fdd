/**
 * Checks a view (`views.open`, `views.update`, `views.publish`) as Slack does, answering its
 * `invalid_arguments` with `response_metadata.messages` naming the place
 * (`[ERROR] must be less than 25 characters [json-pointer:/view/title/text]`). Limits are Block
 * Kit's view reference: title, submit and close plain_text of at most 24 characters, 100 blocks,
 * `private_metadata` at most 3000 characters, `callback_id` and `external_id` at most 255; a modal
 * holding input blocks needs a submit button; the Home tab takes no title, submit or close.
 */
import { checkBlocks } from './block-kit-check.ts';
import type { SlackBlock } from './slack-workspace.ts';

export interface TwinView {
  type: 'modal' | 'home';
  blocks: SlackBlock[];
  title?: Record<string, unknown>;
  submit?: Record<string, unknown>;
  close?: Record<string, unknown>;
  private_metadata?: string;
  callback_id?: string;
  external_id?: string;
  clear_on_close?: boolean;
  notify_on_close?: boolean;
}

export type ViewCheck = { ok: true; view: TwinView } | { ok: false; messages: string[] };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The `view` argument (a JSON string, or the object in a JSON body), checked for `surface`. */
export function checkView(raw: unknown, surface: 'modal' | 'home', nextId: () => string): ViewCheck {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return { ok: false, messages: ['[ERROR] failed to parse the view as JSON [json-pointer:/view]'] };
    }
  }
  const errors: string[] = [];
  const err = (msg: string, pointer: string) => errors.push(`[ERROR] ${msg} [json-pointer:/view${pointer}]`);
  if (!isObj(value)) return { ok: false, messages: ['[ERROR] must be an object [json-pointer:/view]'] };
  if (value.type !== surface) {
    err(surface === 'home' ? 'must be `home`' : 'must be `modal`', '/type');
    return { ok: false, messages: errors };
  }
  const plain = (key: 'title' | 'submit' | 'close', required: boolean) => {
    const t = value[key];
    if (t === undefined) {
      if (required) err(`missing required field: ${key}`, `/${key}`);
      return;
    }
    if (surface === 'home') return err(`${key} is not allowed on the Home tab`, `/${key}`);
    if (!isObj(t) || t.type !== 'plain_text') return err('must be a plain_text object', `/${key}`);
    if (typeof t.text !== 'string' || t.text === '')
      return err('must provide non-empty text', `/${key}/text`);
    if (t.text.length > 24) err('must be less than 25 characters', `/${key}/text`);
  };
  plain('title', surface === 'modal');
  plain('submit', false);
  plain('close', false);
  const text = (key: 'private_metadata' | 'callback_id' | 'external_id', max: number) => {
    const v = value[key];
    if (v === undefined) return;
    if (typeof v !== 'string') err('must be a string', `/${key}`);
    else if (v.length > max) err(`must be less than ${max + 1} characters`, `/${key}`);
  };
  text('private_metadata', 3000);
  text('callback_id', 255);
  text('external_id', 255);
  const blocks = checkBlocks(value.blocks, nextId, { surface, pointer: '/view/blocks' });
  if (!blocks.ok) errors.push(...blocks.messages);
  else if (surface === 'modal' && value.submit === undefined && blocks.blocks.some((b) => b.type === 'input'))
    err('a modal with input blocks must have a submit button', '/submit');
  if (errors.length > 0 || !blocks.ok) return { ok: false, messages: errors };
  return { ok: true, view: { ...(value as unknown as TwinView), blocks: blocks.blocks } };
}
