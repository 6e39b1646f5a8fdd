import type { webApi } from '@slack/bolt';
import type { HomeView } from './home-view.ts';
import type { ModalView } from './start-modal.ts';

/** What the bot needs from Slack's views API (injectable; a WebClient in production). */
export interface ViewPublisher {
  /** `views.publish`: the user's Home tab. */
  publishHome(userId: string, view: HomeView): Promise<void>;
  /** `views.open`: a modal, with the trigger id of the command or click that asked (valid 3 s, once). */
  openModal(triggerId: string, view: ModalView): Promise<void>;
}

export function viewPublisherFrom(client: webApi.WebClient): ViewPublisher {
  return {
    async publishHome(userId, view) {
      await client.views.publish({ user_id: userId, view });
    },
    async openModal(triggerId, view) {
      await client.views.open({ trigger_id: triggerId, view });
    },
  };
}
