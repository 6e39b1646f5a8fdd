/**
 * Does an image tag exist? OCI distribution `HEAD /v2/<repo>/manifests/<tag>` with Basic auth
 * `x:<token>` (how flyctl authenticates to registry.fly.io) — only to the policy's credential hosts;
 * an allow-listed registry is asked anonymously, and any other registry is never contacted.
 *
 * Only an authenticated 404 means "missing" (the body of a GET names MANIFEST_UNKNOWN or
 * NAME_UNKNOWN; a HEAD has no body). 401/403/5xx, timeouts and network errors are "unknown":
 * registry.fly.io answers 401 to anonymous requests whether or not the tag exists.
 */
import type { Dispatcher } from 'undici';
import { request } from 'undici';
import { bareFlyToken } from './fly-http.ts';
import {
  FLY_ONLY,
  formatImageRef,
  type ImageRef,
  isCredentialHost,
  parseImage,
  type RegistryPolicy,
} from './image-ref.ts';
import { type ImageCheck, MANIFEST_MEDIA_TYPES, MISSING_CODES, registryError } from './registry-answer.ts';

export type { ImageCheck } from './registry-answer.ts';

export interface RegistryClientOptions {
  /** Fly token; sent as Basic `x:<token>` (without a `FlyV1 ` prefix), only to `policy.credentialHosts`. */
  token: string;
  /** Which registries may be contacted and which get the token. Default: registry.fly.io only. */
  policy?: RegistryPolicy;
  /** Origin for a registry host. Default `https://<host>`; tests and the local twin use 127.0.0.1. */
  baseUrlFor?: (registryHost: string) => string;
  dispatcher?: Dispatcher;
  /** Per check (both requests). Default 10 000 ms. */
  timeoutMs?: number;
}

export type TagList = { status: 'listed'; tags: string[] } | { status: 'unknown'; reason: string };

export interface RegistryClient {
  readonly policy: RegistryPolicy;
  checkImage(ref: string | ImageRef, options?: { signal?: AbortSignal }): Promise<ImageCheck>;
  /**
   * The tags of an image's repository (OCI `GET /v2/<repo>/tags/list`), at most `limit` (sorted),
   * for the start dialog. `unknown` when the registry cannot list them (refused, down, not allowed).
   */
  listTags(ref: string, options?: { limit?: number }): Promise<TagList>;
}

export function createRegistryClient(options: RegistryClientOptions): RegistryClient {
  const baseUrlFor = options.baseUrlFor ?? ((host: string) => `https://${host}`);
  const policy = options.policy ?? FLY_ONLY;
  const bare = bareFlyToken(options.token);
  const basic = bare === '' ? undefined : `Basic ${Buffer.from(`x:${bare}`).toString('base64')}`;
  const timeoutMs = options.timeoutMs ?? 10_000;

  async function checkImage(
    input: string | ImageRef,
    call: { signal?: AbortSignal } = {},
  ): Promise<ImageCheck> {
    let ref: ImageRef;
    try {
      ref = parseImage(typeof input === 'string' ? input : formatImageRef(input), policy);
    } catch (error) {
      // Refused without a request: never contact (or send the token to) a registry not allowed.
      return {
        status: 'unknown',
        reason: (error as Error).message,
        imageRef: typeof input === 'string' ? input : formatImageRef(input),
      };
    }
    const authorization = isCredentialHost(ref.registry, policy) ? basic : undefined;
    const imageRef = formatImageRef(ref);
    const reference = ref.digest ?? ref.tag ?? 'latest';
    const url = `${baseUrlFor(ref.registry).replace(/\/+$/, '')}/v2/${ref.repository}/manifests/${reference}`;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = call.signal ? AbortSignal.any([timeout, call.signal]) : timeout;
    const headers: Record<string, string> = {
      accept: MANIFEST_MEDIA_TYPES.join(', '),
      'user-agent': 'vyxbot',
    };
    if (authorization) headers.authorization = authorization;
    const send = (method: 'HEAD' | 'GET') =>
      request(url, {
        method,
        headers,
        signal,
        ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      });

    try {
      const head = await send('HEAD');
      await head.body.dump();
      if (head.statusCode === 200) {
        const digest = head.headers['docker-content-digest'];
        return {
          status: 'exists',
          digest: (Array.isArray(digest) ? digest[0] : digest) ?? ref.digest,
          imageRef,
        };
      }
      if (head.statusCode !== 404) {
        // A HEAD carries no body: ask with GET for the registry's own error code (UNAUTHORIZED,
        // DENIED, …), so whoever reads the answer sees the registry's words, not only a status.
        const get = await send('GET');
        const error = registryError(await get.body.text());
        if (get.statusCode === 200) return { status: 'exists', digest: digestOf(get.headers, ref), imageRef };
        const status = get.statusCode;
        return {
          status: 'unknown',
          reason:
            status === 401 || status === 403
              ? `the registry refused the credentials (${status}), so it cannot say whether the image exists`
              : `the registry answered ${status}, so it cannot say whether the image exists`,
          imageRef,
          httpStatus: status,
          ...(error ? { errorCode: error.code } : {}),
        };
      }
      if (!authorization) {
        return {
          status: 'unknown',
          reason: 'an anonymous 404 does not prove the tag is missing',
          imageRef,
          httpStatus: 404,
        };
      }
      // A HEAD carries no body: ask with GET for the registry's error code.
      const get = await send('GET');
      const text = await get.body.text();
      if (get.statusCode === 200) {
        const digest = get.headers['docker-content-digest'];
        return {
          status: 'exists',
          digest: (Array.isArray(digest) ? digest[0] : digest) ?? ref.digest,
          imageRef,
        };
      }
      if (get.statusCode !== 404) {
        return {
          status: 'unknown',
          reason: `the registry answered HEAD 404 then GET ${get.statusCode}`,
          imageRef,
          httpStatus: get.statusCode,
          ...(registryError(text) ? { errorCode: registryError(text)!.code } : {}),
        };
      }
      const error = registryError(text);
      if (error && MISSING_CODES.has(error.code)) {
        return {
          status: 'missing',
          reason: `${error.code}: ${error.message || (error.code === 'NAME_UNKNOWN' ? 'repository not found' : 'manifest unknown')}`,
          imageRef,
          httpStatus: 404,
          errorCode: error.code,
        };
      }
      return {
        status: 'missing',
        reason: 'the registry answered an authenticated 404 for the manifest',
        imageRef,
        httpStatus: 404,
      };
    } catch (error) {
      const name = (error as { name?: string }).name;
      const timedOut = name === 'TimeoutError' || name === 'AbortError' || timeout.aborted;
      return {
        status: 'unknown',
        reason: timedOut
          ? `the registry did not answer within ${timeoutMs} ms`
          : `could not reach the registry: ${(error as Error).message}`,
        imageRef,
      };
    }
  }

  async function listTags(input: string, call: { limit?: number } = {}): Promise<TagList> {
    let ref: ImageRef;
    try {
      ref = parseImage(input, policy);
    } catch (error) {
      return { status: 'unknown', reason: (error as Error).message };
    }
    const authorization = isCredentialHost(ref.registry, policy) ? basic : undefined;
    const limit = call.limit ?? 100;
    const url = `${baseUrlFor(ref.registry).replace(/\/+$/, '')}/v2/${ref.repository}/tags/list?n=${limit}`;
    try {
      const r = await request(url, {
        method: 'GET',
        headers: {
          accept: 'application/json',
          'user-agent': 'vyxbot',
          ...(authorization ? { authorization } : {}),
        },
        signal: AbortSignal.timeout(timeoutMs),
        ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      });
      const text = await r.body.text();
      if (r.statusCode !== 200) {
        const error = registryError(text);
        return {
          status: 'unknown',
          reason: `the registry answered ${r.statusCode}${error ? ` ${error.code}` : ''} when asked for tags`,
        };
      }
      const body = JSON.parse(text) as { tags?: unknown };
      // Tags end up in Slack: only well-formed ones (OCI's tag grammar), never more than asked for.
      const tags = Array.isArray(body.tags)
        ? body.tags.filter(
            (t): t is string => typeof t === 'string' && /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(t),
          )
        : [];
      return { status: 'listed', tags: [...new Set(tags)].sort().slice(0, limit) };
    } catch (error) {
      const name = (error as { name?: string }).name;
      return {
        status: 'unknown',
        reason:
          name === 'TimeoutError' || name === 'AbortError'
            ? `the registry did not answer within ${timeoutMs} ms`
            : `could not list tags: ${(error as Error).message}`,
      };
    }
  }

  return { policy, checkImage, listTags };
}

function digestOf(headers: Record<string, string | string[] | undefined>, ref: ImageRef): string | undefined {
  const digest = headers['docker-content-digest'];
  return (Array.isArray(digest) ? digest[0] : digest) ?? ref.digest;
}
