/**
 * manifest.yml is what a person pastes into Slack: it must pass Slack's own manifest schema
 * (slackapi/manifest-schema, copied into test/fixtures/slack), keep the usage hint within what
 * autocomplete shows, and declare every event and scope the code relies on — else the app
 * installs but a handler never hears its event, or a Web API call answers `missing_scope`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { USAGE } from '../../src/commands/parse-command.ts';

const root = join(import.meta.dirname, '..', '..');
const fixtures = join(root, 'test', 'fixtures', 'slack');

interface Manifest {
  features: {
    app_home?: Record<string, boolean>;
    slash_commands: { command: string; usage_hint?: string; description: string }[];
  };
  oauth_config: { scopes: { bot: string[] } };
  settings: { socket_mode_enabled?: boolean; event_subscriptions?: { bot_events?: string[] } };
}

const manifestText = readFileSync(join(root, 'manifest.yml'), 'utf8');
const manifest = parse(manifestText) as Manifest;

function manifestValidator() {
  const schema = JSON.parse(readFileSync(join(fixtures, 'manifest.schema.1.0.0.json'), 'utf8'));
  const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, strictTypes: false });
  addFormats.default(ajv);
  // Slack's schema leaves some types implicit (strictTypes off); it annotates with `_note` and checks `background_color` with a `regex` keyword of
  // its own: the note is ignored, the regex enforced as Slack does.
  ajv.addKeyword({ keyword: '_note' });
  ajv.addKeyword({
    keyword: 'regex',
    type: 'string',
    schemaType: 'string',
    validate: (pattern: string, data: string) => new RegExp(pattern).test(data),
  });
  return ajv.compile(schema);
}

/** Every source file of the bot itself (not the local twins, which play Slack's side). */
function botSources(): { path: string; text: string }[] {
  const dir = join(root, 'src');
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((p) => p.endsWith('.ts') && !p.startsWith('local'))
    .map((p) => ({ path: p, text: readFileSync(join(dir, p), 'utf8') }));
}

/** The scopes Slack's Web API spec lists for a method (legacy `:bot` names as a bot app grants them). */
function specScopes(method: string): string[] {
  const spec = JSON.parse(readFileSync(join(fixtures, 'slack-web-openapi-subset.json'), 'utf8')) as {
    paths: Record<string, Record<string, { security?: { slackAuth?: string[] }[] }>>;
  };
  const ops = spec.paths[`/${method}`];
  if (!ops) throw new Error(`${method} is not in the spec subset`);
  const scopes = Object.values(ops).flatMap((op) => op.security?.flatMap((s) => s.slackAuth ?? []) ?? []);
  return scopes.map((s) => s.replace(/:bot$/, ''));
}

/** What Slack requires to deliver each event (docs.slack.dev/reference/events/<name>, "Required scopes"). */
const EVENT_SCOPES: Record<string, string | null> = {
  app_mention: 'app_mentions:read',
  app_home_opened: null,
};

describe('manifest.yml', () => {
  it("validates against Slack's manifest schema", () => {
    const validate = manifestValidator();
    const ok = validate(manifest);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('the schema copy refuses what Slack refuses (a long name, an unknown key, a bad colour)', () => {
    const validate = manifestValidator();
    const broken = structuredClone(manifest) as Manifest & Record<string, unknown>;
    (broken as unknown as { display_information: { name: string } }).display_information.name = 'v'.repeat(
      36,
    );
    expect(validate(broken)).toBe(false);
    expect(validate({ ...manifest, surprise: true })).toBe(false);
    const colour = structuredClone(manifest) as unknown as {
      display_information: { background_color: string };
    };
    colour.display_information.background_color = 'navy';
    expect(validate(colour)).toBe(false);
  });

  it('the usage hint fits what autocomplete shows (100 characters) and names every command', () => {
    const vyx = manifest.features.slash_commands.find((c) => c.command === '/vyx');
    const hint = vyx?.usage_hint ?? '';
    expect(hint.length).toBeGreaterThan(0);
    expect(hint.length).toBeLessThanOrEqual(100);
    for (const name of Object.keys(USAGE)) expect(hint).toContain(name);
  });

  it('App Home has its tab and keeps the messages tab; still Socket Mode', () => {
    expect(manifest.features.app_home).toMatchObject({ home_tab_enabled: true, messages_tab_enabled: true });
    expect(manifest.settings.socket_mode_enabled).toBe(true);
    const events = manifest.settings.event_subscriptions?.bot_events ?? [];
    expect(events).toEqual(expect.arrayContaining(['app_home_opened', 'app_mention']));
  });

  it('every event the bot listens to is subscribed, with the scope Slack needs to deliver it', () => {
    const events = manifest.settings.event_subscriptions?.bot_events ?? [];
    const scopes = manifest.oauth_config.scopes.bot;
    const heard = new Set<string>();
    for (const { text } of botSources()) {
      for (const m of text.matchAll(/\.event\(\s*'([a-z_]+)'/g)) heard.add(m[1]!);
    }
    expect([...heard]).toContain('app_mention');
    for (const event of new Set([...heard, ...events])) {
      expect(Object.hasOwn(EVENT_SCOPES, event), `${event}: add its required scope to EVENT_SCOPES`).toBe(
        true,
      );
      const scope = EVENT_SCOPES[event];
      if (scope) expect(scopes, `${event} needs ${scope}`).toContain(scope);
    }
    for (const event of heard) expect(events, `${event} is handled but not subscribed`).toContain(event);
  });

  it('every Web API method the bot calls is covered by a declared scope', () => {
    const scopes = manifest.oauth_config.scopes.bot;
    const called = new Set<string>();
    for (const { text } of botSources()) {
      for (const m of text.matchAll(/client\.([a-z]+)\.([a-zA-Z]+)\(/g)) called.add(`${m[1]}.${m[2]}`);
    }
    expect([...called]).toContain('chat.postMessage');
    for (const method of called) {
      const needed = specScopes(method);
      if (needed.includes('none')) continue;
      expect(
        needed.some((s) => scopes.includes(s)),
        `${method} needs one of ${needed.join(', ')}`,
      ).toBe(true);
    }
    // `/vyx` itself.
    expect(scopes).toContain('commands');
  });
});
