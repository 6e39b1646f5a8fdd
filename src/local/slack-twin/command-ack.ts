/**
 * What an app's acknowledgement of a slash command carries, shown as Slack shows it: Slack posts a
 * non-empty ack body (a string, or `{text, blocks, response_type}`) to the person who typed the
 * command — privately unless `response_type` is `in_channel` — exactly as a response_url post. The
 * same over HTTP (the 200's body), Socket Mode (the envelope ack's `payload`) and the local shell.
 */
import type { SlackIdentity } from './slack-identity.ts';
import { botAuthor } from './slack-identity.ts';
import { readContent } from './slack-web-methods.ts';
import type { SlackWorkspace } from './slack-workspace.ts';

export type CommandAckShown =
  | { shown: 'nothing' | 'ephemeral' | 'in_channel' }
  /** Slack would reject it (bad blocks, text too long): what its API would have answered. */
  | { shown: 'rejected'; error: unknown };

export function showCommandAck(
  workspace: SlackWorkspace,
  identity: SlackIdentity,
  where: { channel: string; user: string },
  response: unknown,
): CommandAckShown {
  if (response === undefined || response === null || response === '') return { shown: 'nothing' };
  const args = typeof response === 'string' ? { text: response } : (response as Record<string, unknown>);
  const content = readContent(args, () => `a${Math.random().toString(36).slice(2, 6)}`);
  if (!content.ok) return { shown: 'rejected', error: content.result.body };
  if ((content.text ?? '') === '' && !content.blocks?.length) return { shown: 'nothing' };
  const message = { text: content.text ?? '', ...(content.blocks ? { blocks: content.blocks } : {}) };
  if (args.response_type === 'in_channel') {
    workspace.post({ channel: where.channel, ...botAuthor(identity), ...message });
    return { shown: 'in_channel' };
  }
  workspace.postEphemeral({ channel: where.channel, user: where.user, ...message, via: 'ack' });
  return { shown: 'ephemeral' };
}
