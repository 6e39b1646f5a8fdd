/**
 * One request to the Fly emulator, start to answer: the route, the request counter, an injected
 * fault (before or after the route's work, or latency), the token (the registry's Basic auth or the
 * API's bearer), the JSON body, the route's reply, `fly-request-id` on every answer, and the
 * response hook.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { emulatorAuth } from './emulator-auth.ts';
import { apiError, type Reply, type Route } from './emulator-reply.ts';
import type { Fault, FaultInjector } from './fault-injector.ts';
import { faultReply } from './fault-reply.ts';
import type { EmulatorResponse } from './fly-emulator.ts';
import { registryError, registryFault } from './registry-routes.ts';
import type { RequestCounters } from './request-counters.ts';

export function emulatorHandler(o: {
  routes: Route[];
  auth: ReturnType<typeof emulatorAuth>;
  faults: FaultInjector;
  counters: RequestCounters;
  /** A new `fly-request-id`. */
  requestId: () => string;
  onResponse?: (response: EmulatorResponse) => void;
}): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const readBody = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const lookupMethod = method === 'HEAD' ? 'GET' : method;
    let route: Route | undefined;
    let params: string[] = [];
    for (const candidate of o.routes) {
      if (candidate.method !== lookupMethod) continue;
      const match = candidate.pattern.exec(url.pathname);
      if (match) {
        route = candidate;
        params = match.slice(1).map((part) => decodeURIComponent(part));
        break;
      }
    }
    const template = route ? `${method} ${route.template}` : 'unmatched';
    o.counters.increment(template);
    const fault = route ? o.faults.pick(method, route.template) : undefined;
    const delay = () => new Promise((resolve) => setTimeout(resolve, fault?.latencyMs ?? 0));
    if (fault?.kind === 'latency' && fault.phase === 'before') {
      await delay();
      // The client hung up while the request waited in front of Fly: it never reaches Fly (a
      // create then never happens — what a crash of the caller during a slow create looks like).
      if (req.socket.destroyed) return;
    }
    const failing = fault && fault.kind !== 'latency' ? fault : undefined;

    const send = (reply: Reply) => {
      if (failing?.kind === 'reset') {
        req.socket.destroy();
        return;
      }
      const isJson = reply.json !== undefined || (reply.text === undefined && reply.body !== undefined);
      const payload = reply.json ?? (isJson ? JSON.stringify(reply.body) : (reply.text ?? ''));
      const headers: Record<string, string | number> = {
        'fly-request-id': o.requestId(),
        'content-length': Buffer.byteLength(payload),
        ...(isJson
          ? { 'content-type': 'application/json; charset=utf-8' }
          : { 'content-type': 'text/plain; charset=utf-8' }),
        ...reply.headers,
      };
      res.writeHead(reply.status, headers);
      res.end(method === 'HEAD' ? undefined : payload);
      o.onResponse?.({
        method,
        route: template,
        status: reply.status,
        body:
          reply.json !== undefined
            ? JSON.parse(reply.json.toString('utf8'))
            : isJson
              ? reply.body
              : reply.text === ''
                ? undefined
                : reply.text,
        fault: failing?.kind,
      });
    };

    if (!route) return send({ status: 404, text: '404 page not found\n' });
    const isRegistry = route.template.startsWith('/v2/');
    // The registry answers in its own error format (OCI distribution), not the Machines API's.
    const failReply = (fault: Fault): Reply => (isRegistry ? registryFault(fault) : faultReply(fault));
    if (failing?.phase === 'before') return send(failReply(failing));

    if (isRegistry && !o.auth.registry(req.headers.authorization)) {
      return send({
        ...registryError(401, 'UNAUTHORIZED', 'authentication required', null),
        headers: { 'www-authenticate': 'Basic realm="flyio-registry.fly.dev"' },
      });
    }
    // The regions list needs no token (`security: []` in the spec).
    const isPublic = route.template === '/v1/platform/regions';
    if (!isRegistry && !isPublic && !o.auth.api(req.headers.authorization)) {
      return send(apiError(401, 'Authenticate: token validation error'));
    }
    const raw = await readBody(req);
    let body: unknown;
    if (raw.trim() !== '') {
      try {
        body = JSON.parse(raw);
      } catch {
        return send(apiError(400, 'invalid character in request body: not JSON'));
      }
    }
    const nonceHeader = req.headers['fly-machine-lease-nonce'];
    const leaseNonce = Array.isArray(nonceHeader) ? nonceHeader[0] : nonceHeader;
    let reply = await route.handler({
      params,
      query: url.searchParams,
      body,
      method,
      ...(leaseNonce ? { leaseNonce } : {}),
    });
    if (failing?.phase === 'after') reply = failReply(failing);
    // Done, but the answer is held back (a create made whose answer has not arrived yet).
    if (fault?.kind === 'latency' && fault.phase === 'after') await delay();
    send(reply);
  };
}
