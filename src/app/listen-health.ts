import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from '@slack/bolt';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { findErrno, type Health, portError, startHealthServer } from '../observability/health.ts';

export interface HealthListening {
  /** `http://<host>:<port>`: /healthz, /readyz, /metrics (and /slack/events in HTTP mode). */
  httpUrl: string | undefined;
  /** `http://<host>:<port>` of VYX_OPS_PORT (details and metrics without a token). */
  opsUrl: string | undefined;
  /** Why the health port is not served (local mode with the port taken). */
  httpProblem: string | undefined;
  servers: { close(): Promise<void> }[];
}

/**
 * Health first: /healthz and /readyz listen on PORT (with Bolt's receiver in HTTP mode) and on
 * VYX_OPS_PORT before anything talks to Slack. A failure closes what did listen, then throws.
 */
export async function listenHealth(
  config: Config,
  app: App,
  health: Health,
  logger: Logger,
): Promise<HealthListening> {
  const slackConfig = config.slack;
  let httpUrl: string | undefined;
  let httpProblem: string | undefined;
  let opsUrl: string | undefined;
  const servers: { close(): Promise<void> }[] = [];
  const urlOf = (port: number) =>
    `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${port}`;
  try {
    if (slackConfig.mode === 'http') {
      const server = (await app.start({ port: config.port, host: config.host }).catch((err: unknown) => {
        throw portError(err, 'PORT', config.port);
      })) as Server;
      httpUrl = urlOf((server.address() as AddressInfo).port);
    } else {
      try {
        const hs = await startHealthServer(health, {
          port: config.port,
          host: config.host,
          variable: 'PORT',
        });
        servers.push(hs);
        httpUrl = urlOf(hs.port);
      } catch (err) {
        // Locally a busy port must not stop the terminal chat; elsewhere health is not optional.
        if (slackConfig.mode !== 'twin') throw err;
        httpProblem = `port ${config.port} is taken (${findErrno(err) ?? 'error'}); set PORT`;
        logger.warn({ port: config.port }, `health and metrics not served: ${httpProblem}`);
      }
    }
    if (config.opsPort !== undefined) {
      const ops = await startHealthServer(health, {
        port: config.opsPort,
        host: config.host,
        variable: 'VYX_OPS_PORT',
        open: true,
      });
      servers.push(ops);
      opsUrl = urlOf(ops.port);
    }
  } catch (err) {
    for (const s of servers) await s.close();
    if (slackConfig.mode === 'http') await app.stop().catch(() => {});
    throw err;
  }

  return { httpUrl, opsUrl, httpProblem, servers };
}
