/**
 * Image references as Docker reads them: `[registry/]repository[:tag][@digest]`, and the one
 * policy deciding which registries vyxbot may contact and which of them get the Fly token.
 * The first path component is a registry host when it contains `.` or `:` or is `localhost`;
 * otherwise the registry is Fly's (`registry.fly.io`), since vyxbot only runs Fly images.
 * Every input (command option, Retry button, preflight, watcher, diagnose) goes through
 * `parseImage`, so a reference refused in one place is refused in all of them.
 */
import { VyxError } from '../errors/vyx-error.ts';

export const FLY_REGISTRY = 'registry.fly.io';

export interface ImageRef {
  registry: string;
  repository: string;
  /** `latest` when neither a tag nor a digest is given. */
  tag: string | undefined;
  digest: string | undefined;
}

/** Which registries may be contacted, and which of them get credentials. */
export interface RegistryPolicy {
  /** Hosts that get the Fly token: the Fly registry (FLY_IMAGE's host; the emulator locally). */
  credentialHosts: readonly string[];
  /** Other hosts an operator allow-listed (VYX_ALLOWED_REGISTRIES): used, never given credentials. */
  allowedHosts: readonly string[];
}

export const FLY_ONLY: RegistryPolicy = { credentialHosts: [FLY_REGISTRY], allowedHosts: [] };

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
// Only the algorithms registries accept (OCI image spec: sha256, sha512), with their exact lengths.
const DIGEST = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
// A DNS name (labels of letters, digits and inner dashes) or IPv4, with an optional port.
const HOST =
  /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::[0-9]{1,5})?$/;

/** Is `text` a registry host as VYX_ALLOWED_REGISTRIES and image references name one? */
export function isRegistryHost(text: string): boolean {
  return HOST.test(text);
}

/** The syntax alone: any registry. Use `parseImage` for input that will be acted on. */
export function parseImageRef(input: string, defaultRegistry: string = FLY_REGISTRY): ImageRef {
  const text = input.trim();
  const shown = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  const invalid = (why: string) =>
    new VyxError('IMAGE_REF_INVALID', `"${shown}" is not an image reference: ${why}`, {
      suggestion:
        'Give a tag such as v42, or a reference such as registry.fly.io/<app>:<tag> (or …@sha256:<digest>).',
      details: { imageRef: shown },
    });
  if (text === '') throw invalid('it is empty');
  if (text.length > 512) throw invalid('it is longer than 512 characters');
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(`bad digest "${digest.slice(0, 80)}" (expected sha256:<64 hex>)`);
  }
  let registry = defaultRegistry;
  const slash = rest.indexOf('/');
  if (slash > 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      if (!HOST.test(first)) throw invalid(`bad registry host "${first.slice(0, 80)}"`);
      registry = first;
      rest = rest.slice(slash + 1);
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (tag === '') throw invalid('the tag after ":" is empty');
    if (!TAG.test(tag)) throw invalid(`bad tag "${tag.slice(0, 80)}"`);
  }
  if (!REPOSITORY.test(rest)) throw invalid(`bad repository "${rest.slice(0, 80)}"`);
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, repository: rest, tag, digest };
}

/** Does this registry get the Fly token? */
export function isCredentialHost(registry: string, policy: RegistryPolicy): boolean {
  return policy.credentialHosts.includes(registry);
}

/**
 * The one parser of image input that will be acted on: the syntax, then the registry — the Fly
 * registry, or one an operator allow-listed; any other is refused before anything is created.
 */
export function parseImage(input: string, policy: RegistryPolicy): ImageRef {
  const ref = parseImageRef(input);
  if (!isCredentialHost(ref.registry, policy) && !policy.allowedHosts.includes(ref.registry)) {
    throw new VyxError(
      'IMAGE_REGISTRY_NOT_ALLOWED',
      `images from ${ref.registry} are not allowed: vyxbot only runs images from ${policy.credentialHosts[0] ?? FLY_REGISTRY}${
        policy.allowedHosts.length ? ` or ${policy.allowedHosts.join(', ')}` : ''
      }`,
      {
        suggestion:
          'Push the image to the Fly registry and use its tag, or ask an operator to add that registry to VYX_ALLOWED_REGISTRIES.',
        details: { registry: ref.registry },
      },
    );
  }
  return ref;
}

export function formatImageRef(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}
