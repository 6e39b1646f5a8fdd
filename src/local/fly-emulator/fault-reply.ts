/** An injected fault as the Machines API answers it (status, `{ error }`, `retry-after` on 429). */
import { apiError, type Reply } from './emulator-reply.ts';
import type { Fault } from './fault-injector.ts';

export const faultReply = (fault: Fault): Reply => {
  switch (fault.kind) {
    case 'rate-limit':
      return {
        ...apiError(429, 'rate limit exceeded, try again later'),
        headers: { 'retry-after': String(fault.retryAfterSeconds) },
      };
    case 'timeout':
      return apiError(408, 'deadline_exceeded: request timed out');
    case 'bad-gateway':
      return apiError(502, 'bad gateway');
    case 'unavailable':
      return apiError(503, 'service unavailable');
    case 'status':
      return apiError(fault.status, fault.message ?? `injected ${fault.status}`);
    default:
      return apiError(500, 'internal server error');
  }
};
