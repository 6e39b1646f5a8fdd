/**
 * The registry: `GET|HEAD /v2/`, `/v2/<repo>/manifests/<ref>` and `/v2/<repo>/tags/list`, answering in the OCI distribution
 * error format (`{ errors: [{ code, message, detail }] }`), not the Machines API's.
 */

import {
  type EmulatorParts,
  type Reply,
  type RequestContext,
  type Route,
  routePattern,
} from './emulator-reply.ts';
import type { Fault } from './fault-injector.ts';
import { faultReply } from './fault-reply.ts';

export const registryError = (status: number, code: string, message: string, detail: unknown): Reply => ({
  status,
  body: { errors: [{ code, message, detail }] },
});

const REGISTRY_CODES: Record<number, [string, string]> = {
  401: ['UNAUTHORIZED', 'authentication required'],
  403: ['DENIED', 'requested access to the resource is denied'],
  429: ['TOOMANYREQUESTS', 'too many requests'],
};
/** An injected fault as the registry would answer it. */
export const registryFault = (fault: Fault): Reply => {
  const status = faultReply(fault).status;
  const [code, message] = REGISTRY_CODES[status] ?? ['UNAVAILABLE', fault.message ?? `injected ${status}`];
  return {
    ...registryError(status, code, message, null),
    ...(status === 401 ? { headers: { 'www-authenticate': 'Basic realm="flyio-registry.fly.dev"' } } : {}),
  };
};

export function registryRoutes({ catalogue }: EmulatorParts): Route[] {
  function registryBase(): Reply {
    return { status: 200, body: {}, headers: { 'docker-distribution-api-version': 'registry/2.0' } };
  }

  function manifest(ctx: RequestContext): Reply {
    const repository = ctx.params[0] ?? '';
    const reference = ctx.params[1] ?? '';
    const image = catalogue.findManifest(repository, reference);
    if (!image) {
      if (!catalogue.hasRepository(repository)) {
        return registryError(404, 'NAME_UNKNOWN', 'repository name not known to registry', {
          name: repository,
        });
      }
      return registryError(404, 'MANIFEST_UNKNOWN', 'manifest unknown', { Tag: reference });
    }
    return {
      status: 200,
      text: image.manifest,
      headers: {
        'content-type': image.mediaType,
        'docker-content-digest': image.digest,
        'docker-distribution-api-version': 'registry/2.0',
        etag: `"${image.digest}"`,
      },
    };
  }

  function tags(ctx: RequestContext): Reply {
    const repository = ctx.params[0] ?? '';
    if (!catalogue.hasRepository(repository))
      return registryError(404, 'NAME_UNKNOWN', 'repository name not known to registry', {
        name: repository,
      });
    const all = catalogue
      .list()
      .filter((i) => i.ref.repository === repository && i.ref.tag)
      .map((i) => i.ref.tag!)
      .sort();
    return { status: 200, body: { name: repository, tags: all } };
  }

  return [
    { method: 'GET', template: '/v2/', pattern: routePattern('/v2/?'), handler: registryBase },
    {
      method: 'GET',
      template: '/v2/:repo/tags/list',
      pattern: routePattern('/v2/(.+)/tags/list'),
      handler: tags,
    },
    {
      method: 'GET',
      template: '/v2/:repo/manifests/:reference',
      pattern: routePattern('/v2/(.+)/manifests/([^/]+)'),
      handler: manifest,
    },
  ];
}
