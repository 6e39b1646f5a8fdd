import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { ListenOptions } from 'node:net';
import type { App, Logger as BoltLogger, CustomRoute, Receiver } from '@slack/bolt';
// Bolt's modules one by one: its package index loads Express and more at every start (see assemble-bot).
import { defaultBodyLimit } from '@slack/bolt/dist/receivers/HTTPModuleFunctions.js';
import type { Logger } from '../../logger.ts';
import type { AuditInput } from '../../store/inbound-store.ts';
import type { AckFirst } from './ack-first.ts';
import { checkSlackBody } from './slack-body-check.ts';
import { createSlackSignatureCheck } from './slack-signature-check.ts';

// Its default export through require (see assemble-bot).
const { default: HTTPReceiver } = createRequire(import.meta.url)(
  '@slack/bolt/dist/receivers/HTTPReceiver.js',
) as typeof import('@slack/bolt/dist/receivers/HTTPReceiver.js');

export const SLACK_EVENTS_PATH = '/slack/events';

export interface GuardedReceiverOptions {
  signingSecret: string;
  customRoutes?: CustomRoute[];
  logger: Logger;
  boltLogger?: BoltLogger;
  /** Audits a signed request whose body was refused (400). Unsigned ones are only logged. */
  audit?: (entry: AuditInput) => Promise<unknown>;
  /** Told of each Slack request until it is answered, so follow-up work waits for the acks. */
  ackFirst?: AckFirst;
}

/**
 * Bolt's real HTTPReceiver behind a guard: the guard reads the body once (with Bolt's size limit),
 * verifies Slack's signature and refuses a body Slack never sends (400, one log line) before Bolt
 * parses it; a good request goes on to Bolt with the body already read (Bolt's own
 * `BufferedIncomingMessage`), its signature passed to the middleware as `vyxSignature` for the
 * replay check. Every other path (health, metrics) goes straight to Bolt's listener.
 */
export class GuardedHttpReceiver implements Receiver {
  private readonly inner: InstanceType<typeof HTTPReceiver>;
  private readonly o: GuardedReceiverOptions;
  private readonly checkSignature: ReturnType<typeof createSlackSignatureCheck>;
  private server: Server | undefined;

  constructor(o: GuardedReceiverOptions) {
    this.o = o;
    this.checkSignature = createSlackSignatureCheck(o.signingSecret);
    this.inner = new HTTPReceiver({
      signingSecret: o.signingSecret,
      // Every POST to /slack/events reaches Bolt only through `guard`, which has verified the
      // signature and timestamp already: a second check per request would only cost CPU that other
      // requests' acks wait on.
      signatureVerification: false,
      endpoints: SLACK_EVENTS_PATH,
      ...(o.customRoutes ? { customRoutes: o.customRoutes } : {}),
      ...(o.boltLogger ? { logger: o.boltLogger } : {}),
      customPropertiesExtractor: (req) => {
        const signature = req.headers['x-slack-signature'];
        return typeof signature === 'string' ? { vyxSignature: signature } : {};
      },
    });
  }

  init(app: App): void {
    this.inner.init(app);
  }

  async start(listen: ListenOptions): Promise<Server> {
    if (this.server) throw new Error('the receiver is already started');
    const server = createServer((req, res) => {
      this.guard(req, res).catch((err: unknown) => {
        this.o.logger.error({ err: (err as Error)?.message }, 'slack request guard failed');
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    return server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeIdleConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async guard(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'POST' || path !== SLACK_EVENTS_PATH) {
      this.inner.requestListener(req, res);
      return;
    }
    const answered = this.o.ackFirst?.requestArrived();
    if (answered) res.once('close', answered);
    const log = this.o.logger;
    const raw = await readBody(req, defaultBodyLimit);
    if (raw === undefined) {
      log.warn({ limit: defaultBodyLimit }, 'slack request refused: body too large');
      res.writeHead(413).end();
      return;
    }
    const text = raw.toString('utf8');
    const contentType = req.headers['content-type'];
    // Signature first (ssl_check too, as Bolt did): an unsigned request learns nothing about what we accept.
    const signature = req.headers['x-slack-signature'];
    const timestamp = req.headers['x-slack-request-timestamp'];
    try {
      if (typeof signature !== 'string' || typeof timestamp !== 'string') {
        throw new Error('the signature or timestamp header is missing or repeated');
      }
      this.checkSignature(text, signature, timestamp);
    } catch (err) {
      log.warn({ why: (err as Error).message.slice(0, 200) }, 'slack request refused: not signed by Slack');
      res.writeHead(401).end();
      return;
    }
    const check = checkSlackBody(contentType, text);
    if (!check.ok) {
      log.warn(
        { problem: check.problem, teamId: check.teamId, userId: check.userId },
        'slack request refused: malformed body',
      );
      res.writeHead(400).end();
      const entry: AuditInput = {
        action: 'request',
        name: 'malformed',
        outcome: 'invalid',
        ...(check.teamId ? { slackTeamId: check.teamId } : {}),
        ...(check.userId ? { slackUserId: check.userId } : {}),
        detail: check.problem,
      };
      await this.o.audit?.(entry).catch((err: unknown) => {
        log.error({ err: (err as Error)?.message }, 'could not audit a refused slack request');
      });
      return;
    }
    (req as IncomingMessage & { rawBody: Buffer }).rawBody = raw;
    this.inner.requestListener(req, res);
  }
}

/** The whole body, or undefined past `limit` bytes (the rest is drained, not kept). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= limit) chunks.push(chunk as Buffer);
  }
  return size > limit ? undefined : Buffer.concat(chunks);
}
