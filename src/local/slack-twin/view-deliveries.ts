/**
 * The people's side of views, for the Slack twin: the `app_home_opened` event and a modal's
 * `view_submission` (bodies for HTTP, envelopes for Socket Mode), and what the app's
 * acknowledgement of a submission decides (closed, errors under their fields, updated).
 */

import type { SlackIdentity } from './slack-identity.ts';
import type { SlackViews, SubmissionOutcome } from './slack-views.ts';
import type { EnvelopeRecord, SocketModeHub } from './socket-mode-hub.ts';
import { appHomeOpenedPayload, type ViewAnswers, viewSubmissionPayload } from './socket-mode-payloads.ts';

export interface ViewDeliveries {
  homeOpenedBody(user?: string): Record<string, unknown>;
  viewSubmissionBody(viewId: string, answers: ViewAnswers): Record<string, unknown>;
  openHome(user?: string): EnvelopeRecord;
  submitView(
    viewId: string,
    answers: ViewAnswers,
  ): { envelope: EnvelopeRecord; outcome: Promise<SubmissionOutcome> };
  /** The hub's acknowledgement of an envelope (a submission's settles its outcome). */
  acked(record: EnvelopeRecord): void;
}

export function createViewDeliveries(o: {
  identity: SlackIdentity;
  views: SlackViews;
  now: () => number;
  hub: () => SocketModeHub;
}): ViewDeliveries {
  const { identity, views } = o;
  // A view_submission's acknowledgement decides what the person sees next.
  const submissions = new Map<string, { viewId: string; settle: (outcome: SubmissionOutcome) => void }>();
  const homeOpenedBody = (user = identity.userId) => {
    const home = views.home(user);
    const { user: _owner, ...view } = home ?? { user };
    return appHomeOpenedPayload(identity, { user, view: home ? view : undefined, now: o.now() });
  };
  const viewSubmissionBody = (viewId: string, answers: ViewAnswers) => {
    const view = views.modal(viewId);
    if (!view) throw new Error(`no open modal ${viewId}`);
    return viewSubmissionPayload(identity, {
      user: view.user,
      view: view as unknown as Record<string, unknown> & { blocks: Record<string, unknown>[] },
      answers,
      triggerId: views.issueTrigger(view.user),
    });
  };
  return {
    homeOpenedBody,
    viewSubmissionBody,
    openHome: (user) => o.hub().deliver('events_api', homeOpenedBody(user)),
    submitView(viewId, answers) {
      const envelope = o.hub().deliver('interactive', viewSubmissionBody(viewId, answers));
      const outcome = new Promise<SubmissionOutcome>((settle) => {
        submissions.set(envelope.envelopeId, { viewId, settle });
      });
      return { envelope, outcome };
    },
    acked(record) {
      const waiting = submissions.get(record.envelopeId);
      if (!waiting) return;
      submissions.delete(record.envelopeId);
      waiting.settle(views.answerSubmission(waiting.viewId, record.response));
    },
  };
}
