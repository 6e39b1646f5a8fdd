import type { types } from '@slack/bolt';

type Button = types.Button;
export type KnownBlock = types.KnownBlock;

// Block Kit pieces the cards share. Slack limits: section text 3000 chars, 10 fields of 2000.

export const ACTIONS = {
  destroy: 'vyx_destroy',
  diagnose: 'vyx_diagnose',
  retry: 'vyx_retry',
  silence: 'vyx_silence',
  logs: 'vyx_logs',
  restart: 'vyx_restart',
  stop: 'vyx_stop',
} as const;

export const clip = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

/** Slack mrkdwn needs &, < and > escaped in text we did not write. */
export const escapeMrkdwn = (s: string) =>
  s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** escapeMrkdwn, but a user mention the bot itself wrote (`<@U…>`, e.g. "destroyed by <@U…>") stays one. */
export const escapeKeepingMentions = (s: string) =>
  escapeMrkdwn(s).replace(/&lt;@([UW][A-Z0-9]{2,20})&gt;/g, '<@$1>');

export const STATUS_EMOJI: Record<string, string> = {
  starting: ':hourglass_flowing_sand:',
  running: ':large_green_circle:',
  stopping: ':double_vertical_bar:',
  stopped: ':white_circle:',
  failed: ':red_circle:',
  destroyed: ':black_circle:',
};

export function button(
  text: string,
  actionId: string,
  value: string,
  options: { style?: 'primary' | 'danger'; confirm?: { title: string; text: string; confirm: string } } = {},
): Button {
  return {
    type: 'button',
    text: { type: 'plain_text', text, emoji: true },
    action_id: actionId,
    value,
    ...(options.style ? { style: options.style } : {}),
    ...(options.confirm
      ? {
          confirm: {
            title: { type: 'plain_text', text: options.confirm.title },
            text: { type: 'mrkdwn', text: options.confirm.text },
            confirm: { type: 'plain_text', text: options.confirm.confirm },
            deny: { type: 'plain_text', text: 'Cancel' },
            style: 'danger',
          },
        }
      : {}),
  };
}

export function destroyButton(machineId: string): Button {
  return button('Destroy', ACTIONS.destroy, machineId, {
    style: 'danger',
    confirm: {
      title: 'Destroy this machine?',
      text: `Machine \`${machineId}\` and everything on it will be gone.`,
      confirm: 'Destroy',
    },
  });
}

export const fieldsSection = (fields: [string, string][]): KnownBlock => ({
  type: 'section',
  fields: fields.slice(0, 10).map(([k, v]) => ({ type: 'mrkdwn', text: clip(`*${k}*\n${v}`, 2000) })),
});

export function age(iso: string | null | undefined, now: Date): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export function restartButton(machineId: string): Button {
  return button('Restart', ACTIONS.restart, machineId);
}

export function stopButton(machineId: string): Button {
  return button('Stop', ACTIONS.stop, machineId, {
    confirm: {
      title: 'Stop this machine?',
      text: `Machine \`${machineId}\` stops on Fly; Restart starts it again.`,
      confirm: 'Stop',
    },
  });
}
