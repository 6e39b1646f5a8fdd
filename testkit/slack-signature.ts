import { createHmac } from 'node:crypto';

/** Slack's `x-slack-signature` over a request body (v0, HMAC-SHA256 with the signing secret). */
export function sign(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}
