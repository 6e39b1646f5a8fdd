/**
 * Views in the local Slack: each user's Home tab (`views.publish`), the modals open on their
 * screen (`views.open`, `views.update`), and the trigger ids that open them. As in Slack, a
 * trigger id comes with a slash command or an interaction, opens one view, once, within 3 s
 * (`expired_trigger_id`, `exchanged_trigger_id`, `invalid_trigger_id`); a view update with a stale
 * `hash` is refused (`hash_conflict`); an unknown view is `not_found`; a view Slack would not show
 * is `invalid_arguments` with the place named (view-check.ts).
 */
import { randomBytes } from 'node:crypto';
import { stringArg } from './request-body.ts';
import type { SlackIdentity } from './slack-identity.ts';
import { checkView, type TwinView } from './view-check.ts';

/** A view as Slack answers it (and as the twin keeps it). */
export interface StoredView extends TwinView {
  id: string;
  team_id: string;
  app_id: string;
  bot_id: string;
  hash: string;
  root_view_id: string;
  previous_view_id: null;
  state: { values: Record<string, unknown> };
  /** Not Slack's: whose screen it is on. */
  user: string;
}

export type ViewChange =
  | { type: 'home_published'; view: StoredView }
  | { type: 'modal_opened'; view: StoredView }
  | { type: 'modal_updated'; view: StoredView }
  | { type: 'modal_closed'; view: StoredView };

export interface ViewResult {
  status: number;
  body: Record<string, unknown>;
}

export type SubmissionOutcome =
  | { kind: 'closed' }
  | { kind: 'errors'; errors: Record<string, string> }
  | { kind: 'updated' }
  | { kind: 'refused'; reason: string };

/** Slack's trigger ids expire after 3 s. */
export const TRIGGER_TTL_MS = 3_000;

export interface SlackViews {
  /** A trigger id for `user`, as Slack sends with a command or an interaction. */
  issueTrigger(user: string): string;
  /** `views.open`, `views.publish`, `views.update`; undefined for any other method. */
  handle(method: string, args: Record<string, unknown>): ViewResult | undefined;
  /** The user's Home tab, if published. */
  home(user: string): StoredView | undefined;
  /** Modals open now (of one user, or everyone's), oldest first. */
  modals(user?: string): StoredView[];
  modal(id: string): StoredView | undefined;
  /** Closes a modal (submitted without errors, or cancelled). */
  close(id: string): void;
  /**
   * What the app acked a `view_submission` of modal `id` with, applied as Slack does: nothing or
   * `clear` closes it; `errors` keeps it open with each message under its input block (block_ids
   * of the view's input blocks only, else Slack shows the person an error); `update` replaces it.
   */
  answerSubmission(id: string, response: unknown): SubmissionOutcome;
  onChange(listener: (change: ViewChange) => void): () => void;
}

const fail = (error: string, messages?: string[]): ViewResult => ({
  status: 200,
  body: { ok: false, error, ...(messages ? { response_metadata: { messages } } : {}) },
});

const copy = (v: StoredView): StoredView => structuredClone(v);

export function createSlackViews(o: {
  identity: SlackIdentity;
  now: () => number;
  nextId: () => string;
}): SlackViews {
  const triggers = new Map<string, { user: string; at: number; used: boolean }>();
  const homes = new Map<string, StoredView>();
  const modals = new Map<string, StoredView>();
  const listeners = new Set<(change: ViewChange) => void>();
  let viewCounter = 0;
  const emit = (change: ViewChange) => {
    for (const l of listeners) l({ ...change, view: copy(change.view) });
  };
  const hash = () => `${Math.floor(o.now() / 1000)}.${randomBytes(4).toString('hex')}`;
  const stored = (view: TwinView, user: string, id?: string): StoredView => {
    const viewId = id ?? `V${(++viewCounter).toString(36).toUpperCase().padStart(8, '0')}`;
    return {
      ...view,
      id: viewId,
      team_id: o.identity.teamId,
      app_id: o.identity.appId,
      bot_id: o.identity.botId,
      hash: hash(),
      root_view_id: viewId,
      previous_view_id: null,
      state: { values: {} },
      user,
    };
  };
  const answer = (view: StoredView): ViewResult => {
    const { user: _user, ...rest } = view;
    return { status: 200, body: { ok: true, view: rest } };
  };

  function open(args: Record<string, unknown>): ViewResult {
    const trigger = stringArg(args.trigger_id);
    if (!trigger || args.view === undefined)
      return fail('invalid_arguments', [
        `[ERROR] missing required field: ${trigger ? 'view' : 'trigger_id'}`,
      ]);
    const issued = triggers.get(trigger);
    if (!issued) return fail('invalid_trigger_id');
    if (issued.used) return fail('exchanged_trigger_id');
    if (o.now() - issued.at > TRIGGER_TTL_MS) return fail('expired_trigger_id');
    const checked = checkView(args.view, 'modal', o.nextId);
    if (!checked.ok) return fail('invalid_arguments', checked.messages);
    issued.used = true;
    const view = stored(checked.view, issued.user);
    modals.set(view.id, view);
    emit({ type: 'modal_opened', view });
    return answer(view);
  }

  function publish(args: Record<string, unknown>): ViewResult {
    const user = stringArg(args.user_id);
    if (!user || args.view === undefined)
      return fail('invalid_arguments', [`[ERROR] missing required field: ${user ? 'view' : 'user_id'}`]);
    if (!/^[UW][A-Z0-9]{2,}$/.test(user)) return fail('invalid_arguments', ['invalid `user_id`']);
    const current = homes.get(user);
    const wanted = stringArg(args.hash);
    if (wanted !== undefined && current && wanted !== current.hash) return fail('hash_conflict');
    const checked = checkView(args.view, 'home', o.nextId);
    if (!checked.ok) return fail('invalid_arguments', checked.messages);
    const view = stored(checked.view, user, current?.id);
    homes.set(user, view);
    emit({ type: 'home_published', view });
    return answer(view);
  }

  function update(args: Record<string, unknown>): ViewResult {
    const viewId = stringArg(args.view_id);
    const externalId = stringArg(args.external_id);
    if (!viewId && !externalId)
      return fail('invalid_arguments', ['[ERROR] either view_id or external_id is required']);
    if (args.view === undefined) return fail('invalid_arguments', ['[ERROR] missing required field: view']);
    const current = viewId
      ? (modals.get(viewId) ?? [...homes.values()].find((h) => h.id === viewId))
      : [...modals.values(), ...homes.values()].find((v) => v.external_id === externalId);
    if (!current) return fail('not_found');
    const wanted = stringArg(args.hash);
    if (wanted !== undefined && wanted !== current.hash) return fail('hash_conflict');
    const checked = checkView(args.view, current.type, o.nextId);
    if (!checked.ok) return fail('invalid_arguments', checked.messages);
    const view = stored(checked.view, current.user, current.id);
    if (view.type === 'home') {
      homes.set(view.user, view);
      emit({ type: 'home_published', view });
    } else {
      modals.set(view.id, view);
      emit({ type: 'modal_updated', view });
    }
    return answer(view);
  }

  function close(id: string): void {
    const v = modals.get(id);
    if (!v) return;
    modals.delete(id);
    emit({ type: 'modal_closed', view: v });
  }

  return {
    issueTrigger(user) {
      const id = `${o.now()}.${Math.floor(Math.random() * 1e10)}.${randomBytes(16).toString('hex')}`;
      triggers.set(id, { user, at: o.now(), used: false });
      // Old ones can never open anything again: keep the map small.
      for (const [k, t] of triggers) if (o.now() - t.at > 10 * TRIGGER_TTL_MS) triggers.delete(k);
      return id;
    },
    handle(method, args) {
      if (method === 'views.open') return open(args);
      if (method === 'views.publish') return publish(args);
      if (method === 'views.update') return update(args);
      return undefined;
    },
    home: (user) => {
      const v = homes.get(user);
      return v ? copy(v) : undefined;
    },
    modals: (user) => [...modals.values()].filter((m) => user === undefined || m.user === user).map(copy),
    modal: (id) => {
      const v = modals.get(id);
      return v ? copy(v) : undefined;
    },
    close,
    answerSubmission(id, response) {
      const view = modals.get(id);
      if (!view) return { kind: 'refused', reason: `no open modal ${id}` };
      const r = (typeof response === 'object' && response !== null ? response : {}) as Record<
        string,
        unknown
      >;
      const action = r.response_action;
      if (action === undefined || action === 'clear') {
        close(id);
        return { kind: 'closed' };
      }
      if (action === 'errors') {
        const errors = r.errors;
        const inputs = new Set(view.blocks.filter((b) => b.type === 'input').map((b) => String(b.block_id)));
        if (typeof errors !== 'object' || errors === null || Object.keys(errors).length === 0)
          return { kind: 'refused', reason: 'response_action errors without errors' };
        for (const [blockId, message] of Object.entries(errors)) {
          if (!inputs.has(blockId))
            return { kind: 'refused', reason: `errors names ${blockId}, not an input block` };
          if (typeof message !== 'string' || message === '' || message.length > 2000)
            return {
              kind: 'refused',
              reason: `the error for ${blockId} is not a string of 1–2000 characters`,
            };
        }
        return { kind: 'errors', errors: { ...(errors as Record<string, string>) } };
      }
      if (action === 'update') {
        const checked = checkView(r.view, 'modal', o.nextId);
        if (!checked.ok) return { kind: 'refused', reason: checked.messages.join('; ') };
        const next = stored(checked.view, view.user, view.id);
        modals.set(id, next);
        emit({ type: 'modal_updated', view: next });
        return { kind: 'updated' };
      }
      return { kind: 'refused', reason: `unknown response_action ${String(action)}` };
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
