import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeanFetch } from '../../src/http/lean-fetch.ts';

// The bot's fetch over undici's request, against a real HTTP server on loopback: what callers
// (supabase-js, Bolt's respond, the Slack Web API client) rely on from fetch still holds.
describe('createLeanFetch', () => {
  let server: Server;
  let base: string;
  const seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        if (req.url === '/json') {
          res.writeHead(201, { 'content-type': 'application/json', 'content-range': '0-0/1' });
          res.end(JSON.stringify({ echoed: body }));
        } else if (req.url === '/empty') {
          res.writeHead(204).end();
        } else if (req.url === '/moved') {
          res.writeHead(302, { location: '/json' }).end('moved');
        } else {
          res.writeHead(503, { 'set-cookie': ['a=1', 'b=2'] }).end('down');
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it('sends method, headers (object, Headers or pairs) and a string body; answers like fetch', async () => {
    const f = createLeanFetch();
    for (const headers of [
      { 'content-type': 'application/json', apikey: 'k1' },
      new Headers({ 'content-type': 'application/json', apikey: 'k1' }),
      [
        ['content-type', 'application/json'],
        ['apikey', 'k1'],
      ] as [string, string][],
    ]) {
      const res = await f(`${base}/json`, { method: 'post', headers, body: '{"a":1}' });
      expect(res.status).toBe(201);
      expect(res.ok).toBe(true);
      expect(res.headers.get('content-range')).toBe('0-0/1');
      expect(await res.json()).toEqual({ echoed: '{"a":1}' });
      const last = seen.at(-1)!;
      expect([last.method, last.headers.apikey, last.body]).toEqual(['POST', 'k1', '{"a":1}']);
    }
  });

  it('the body reads once, as text or JSON, as fetch reads it; a second read rejects as fetch rejects', async () => {
    const f = createLeanFetch();
    for (const read of ['text', 'json'] as const) {
      const res = await f(`${base}/json`, { method: 'POST', body: 'x' });
      expect(res.bodyUsed).toBe(false);
      const platform = await fetch(`${base}/json`, { method: 'POST', body: 'x' });
      expect(await res[read]()).toEqual(await platform[read]());
      expect([res.bodyUsed, platform.bodyUsed]).toEqual([true, true]);
      await expect(res.text()).rejects.toThrow(TypeError);
      await expect(platform.text()).rejects.toThrow(TypeError);
    }
    const clone = await f(`${base}/json`, { method: 'POST', body: 'y' });
    expect(await clone.clone().json()).toEqual({ echoed: 'y' });
    expect(await clone.arrayBuffer()).toEqual(new TextEncoder().encode('{"echoed":"y"}').buffer);
  });

  it('a 204 has no body; an error status is answered, not thrown, with every header value', async () => {
    const f = createLeanFetch();
    const empty = await f(`${base}/empty`, { method: 'DELETE' });
    expect([empty.status, await empty.text()]).toEqual([204, '']);
    const down = await f(`${base}/down`);
    expect([down.status, down.ok, await down.text()]).toEqual([503, false, 'down']);
    expect(down.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
  });

  it("redirects: 'error' throws as fetch does; the default follows through the platform's fetch", async () => {
    const f = createLeanFetch();
    await expect(f(`${base}/moved`, { redirect: 'error' })).rejects.toThrow(TypeError);
    const followed = await f(`${base}/moved`);
    expect(followed.status).toBe(201);
  });

  it('a body that is not a string, or a Request, goes to the fallback fetch', async () => {
    const calls: string[] = [];
    const fallback = (async (input: string | URL | Request, init?: RequestInit) => {
      calls.push(input instanceof Request ? 'request' : String(init?.body?.constructor.name));
      return new Response('from fallback');
    }) as typeof fetch;
    const f = createLeanFetch({ fallback });
    const form = new FormData();
    form.append('file', new Blob(['x']), 'x.txt');
    expect(await (await f(`${base}/json`, { method: 'POST', body: form })).text()).toBe('from fallback');
    expect(await (await f(new Request(`${base}/json`))).text()).toBe('from fallback');
    expect(calls).toEqual(['FormData', 'request']);
  });

  it('an aborted signal aborts the call', async () => {
    const f = createLeanFetch();
    await expect(f(`${base}/json`, { signal: AbortSignal.abort() })).rejects.toThrow(/abort/i);
  });
});
