/**
 * `npm run twin:fly`: the Fly emulator alone on loopback, to drive with curl as one drives Fly.
 *
 *   FLY_LOCAL_PORT  port on 127.0.0.1 (default 4280; 0 picks a free one)
 *   FLY_APP         app served (default vyx-app, the incidents' app)
 *   FLY_API_TOKEN   the token accepted (default: a generated local token, printed)
 *   FLY_SECRET_NAMES  comma-separated app secret names to list (values are placeholders)
 */
import { portError } from '../observability/health.ts';
import { createFlyEmulator } from './fly-emulator/fly-emulator.ts';

const port = Number(process.env.FLY_LOCAL_PORT ?? 4280);
const app = process.env.FLY_APP || 'vyx-app';
const secretNames = (process.env.FLY_SECRET_NAMES ?? '')
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean);

const emulator = await createFlyEmulator({
  port,
  apps: {
    [app]: { secrets: Object.fromEntries(secretNames.map((name) => [name, `local-${name.toLowerCase()}`])) },
  },
  ...(process.env.FLY_API_TOKEN ? { token: process.env.FLY_API_TOKEN } : {}),
  log: (line) => process.stdout.write(`${line}\n`),
}).catch((err: unknown) => {
  // One line naming the variable, never a stack.
  process.stderr.write(`${portError(err, 'FLY_LOCAL_PORT', port).toLine()}\n`);
  process.exit(1);
});

const lines = [
  `Fly emulator listening on ${emulator.baseUrl}`,
  `  Machines API: ${emulator.baseUrl}/v1/apps/${app}/machines`,
  `  registry:     ${emulator.baseUrl}/v2/<repo>/manifests/<tag>`,
  `  app:          ${app}`,
  `  token:        ${process.env.FLY_API_TOKEN ? '(FLY_API_TOKEN from the environment)' : emulator.token}`,
  '  image catalogue:',
  ...emulator.catalogue.list().map((image) => `    ${image.name}  →  ${image.command.join(' ')}`),
  '  any other tag behaves as missing (create accepted, launch fails, auto_destroy destroys it).',
  '',
  `  curl -H "Authorization: Bearer $TOKEN" ${emulator.baseUrl}/v1/apps/${app}/machines`,
  '',
];
process.stdout.write(`${lines.join('\n')}\n`);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`${signal}: stopping machines…\n`);
  emulator.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
