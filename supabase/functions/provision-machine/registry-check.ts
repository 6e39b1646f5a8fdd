import { bareFlyToken } from '../../../src/fly/fly-http.ts';
import { formatImageRef, isCredentialHost, parseImage } from '../../../src/fly/image-ref.ts';
import type { RegistryAccess } from '../../../src/fly/registry-access.ts';
import {
  type ImageCheck,
  MANIFEST_MEDIA_TYPES,
  MISSING_CODES,
  registryError,
} from '../../../src/fly/registry-answer.ts';

/**
 * The bot's registry check (src/fly/registry-client.ts) on fetch, with its rules: the Fly token
 * goes only to the policy's credential hosts, and only an authenticated 404 means "missing" (a
 * GET then names MANIFEST_UNKNOWN or NAME_UNKNOWN); 401/403/5xx, timeouts and network errors are
 * "unknown", which preflight refuses or warns about as VYX_PREFLIGHT_UNVERIFIED says.
 */
export async function checkImage(
  image: string,
  access: RegistryAccess,
  flyToken: string,
  fetchFn: typeof fetch,
  timeoutMs = 10_000,
): Promise<ImageCheck> {
  let imageRef = image;
  try {
    const ref = parseImage(image, access.policy);
    imageRef = formatImageRef(ref);
    const bare = bareFlyToken(flyToken);
    const headers: Record<string, string> = {
      accept: MANIFEST_MEDIA_TYPES.join(', '),
      'user-agent': 'vyxbot-edge',
    };
    if (bare !== '' && isCredentialHost(ref.registry, access.policy))
      headers.authorization = `Basic ${btoa(`x:${bare}`)}`;
    const url = `${access.baseUrlFor(ref.registry).replace(/\/+$/, '')}/v2/${ref.repository}/manifests/${ref.digest ?? ref.tag ?? 'latest'}`;
    const signal = AbortSignal.timeout(timeoutMs);
    const head = await fetchFn(url, { method: 'HEAD', headers, signal });
    await head.body?.cancel();
    const digestOf = (res: Response) => res.headers.get('docker-content-digest') ?? ref.digest;
    if (head.status === 200) return { status: 'exists', digest: digestOf(head), imageRef };
    if (head.status === 404 && !headers.authorization) {
      return {
        status: 'unknown',
        reason: 'an anonymous 404 does not prove the tag is missing',
        imageRef,
        httpStatus: 404,
      };
    }
    // A HEAD carries no body: ask with GET for the registry's own error code.
    const get = await fetchFn(url, { method: 'GET', headers, signal });
    const error = registryError(await get.text());
    if (get.status === 200) return { status: 'exists', digest: digestOf(get), imageRef };
    if (head.status === 404 && get.status === 404) {
      return error && MISSING_CODES.has(error.code)
        ? {
            status: 'missing',
            reason: `${error.code}: ${error.message}`,
            imageRef,
            httpStatus: 404,
            errorCode: error.code,
          }
        : {
            status: 'missing',
            reason: 'the registry answered an authenticated 404 for the manifest',
            imageRef,
            httpStatus: 404,
          };
    }
    return {
      status: 'unknown',
      reason:
        get.status === 401 || get.status === 403
          ? `the registry refused the credentials (${get.status}), so it cannot say whether the image exists`
          : `the registry answered ${get.status}, so it cannot say whether the image exists`,
      imageRef,
      httpStatus: get.status,
      ...(error ? { errorCode: error.code } : {}),
    };
  } catch (err) {
    const name = (err as { name?: string }).name;
    return {
      status: 'unknown',
      reason:
        name === 'TimeoutError'
          ? `the registry did not answer within ${timeoutMs} ms`
          : `could not check the image: ${(err as Error).message}`,
      imageRef,
    };
  }
}
