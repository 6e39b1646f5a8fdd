import type { Readable, Writable } from 'node:stream';
import type { Config } from '../config.ts';
import { createFlyEmulator, type FlyEmulator } from '../local/fly-emulator/fly-emulator.ts';
import { createLocalSlack, type LocalSlack } from '../local/slack-twin/create-local-slack.ts';
import { type SupabaseTwin, startSupabaseTwin } from '../local/supabase-twin.ts';

/** Where each outside service is, real or twin, as the bot needs it. */
export interface Stack {
  supabase: { url: string; serviceKey: string; label: string; twin?: SupabaseTwin };
  fly: { apiUrl: string; token: string; registryOrigin?: string; label: string; emulator?: FlyEmulator };
  slack: { label: string; local?: LocalSlack };
  close(): Promise<void>;
}

export interface StackIo {
  input?: Readable;
  output?: Writable;
  /** Machine output and emulator notes (a log file locally, not the chat). */
  log?: (line: string) => void;
}

/**
 * Starts the twin of every service whose credentials are absent (any mix with real services), in
 * dependency order, and closes whatever started if a later one fails.
 */
export async function startStack(config: Config, io: StackIo = {}): Promise<Stack> {
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
  };
  try {
    let supabase: Stack['supabase'];
    if (config.supabase.mode === 'real') {
      supabase = {
        url: config.supabase.url,
        serviceKey: config.supabase.serviceKey,
        label: `real Supabase at ${config.supabase.url}`,
      };
    } else {
      const twin = await startSupabaseTwin({
        dataDir: config.dataDir,
        ...(config.supabase.databaseUrl ? { databaseUrl: config.supabase.databaseUrl } : {}),
        ...(config.supabase.serviceKey ? { serviceKey: config.supabase.serviceKey } : {}),
        ...(config.supabaseJwtSecret ? { jwtSecret: config.supabaseJwtSecret } : {}),
        port: config.supabase.port,
      });
      closers.push(() => twin.close());
      supabase = {
        url: twin.url,
        serviceKey: twin.serviceKey,
        label: `local twin at ${twin.url} over ${twin.database}`,
        twin,
      };
    }

    let fly: Stack['fly'];
    if (config.fly.mode === 'real') {
      fly = {
        apiUrl: config.fly.apiUrl,
        token: config.fly.token,
        label: `real Fly Machines API at ${config.fly.apiUrl}`,
      };
    } else {
      const emulator = await createFlyEmulator({
        port: config.fly.port,
        apps: { [config.flyApp]: {} },
        region: config.flyRegion,
        ...(config.fly.token ? { token: config.fly.token } : {}),
        ...(io.log ? { log: io.log } : {}),
      });
      closers.push(() => emulator.close());
      fly = {
        apiUrl: emulator.baseUrl,
        token: emulator.token,
        registryOrigin: emulator.baseUrl,
        label: `local emulator at ${emulator.baseUrl} (machines are child processes running runtime/)`,
        emulator,
      };
    }

    let slack: Stack['slack'];
    if (config.slack.mode === 'twin') {
      const local = await createLocalSlack({
        dataDir: config.dataDir,
        ...(io.input ? { input: io.input } : {}),
        ...(io.output ? { output: io.output } : {}),
        // Scripted input runs like a person typing: each command after the previous one's work settled.
        shell: { timeLimitMs: config.shellTimeoutS * 1000, settleBetweenCommands: true },
      });
      closers.push(() => local.close());
      slack = {
        label: `local twin at ${local.apiUrl} (this terminal; transcript ${local.transcriptFile || 'in memory'})`,
        local,
      };
    } else {
      slack = {
        label:
          (config.slack.mode === 'socket'
            ? 'real Slack, Socket Mode'
            : `real Slack, HTTP on :${config.port}/slack/events`) +
          (config.slackApiUrl ? ` (Web API at ${config.slackApiUrl}: SLACK_API_URL, for testing)` : ''),
      };
    }
    return { supabase, fly, slack, close };
  } catch (err) {
    await close();
    throw err;
  }
}
