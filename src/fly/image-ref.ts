/**
 * Image references as Docker reads them: `[registry/]repository[:tag][@digest]`.
 * The first path component is a registry host when it contains `.` or `:` or is `localhost`;
 * otherwise the registry is Fly's (`registry.fly.io`), since vyxbot only runs Fly images.
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

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[A-Za-z0-9=_-]+$/;
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

export function parseImageRef(input: string, defaultRegistry: string = FLY_REGISTRY): ImageRef {
  const text = input.trim();
  const invalid = (why: string) =>
    new VyxError('IMAGE_REF_INVALID', `"${input}" is not an image reference: ${why}`, {
      suggestion: 'Use the form registry.fly.io/<app>:<tag> (or …@sha256:<digest>).',
      details: { imageRef: input },
    });
  if (text === '') throw invalid('it is empty');
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(`bad digest "${digest}"`);
  }
  let registry = defaultRegistry;
  const slash = rest.indexOf('/');
  if (slash > 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      registry = first;
      rest = rest.slice(slash + 1);
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(`bad tag "${tag}"`);
  }
  if (!REPOSITORY.test(rest)) throw invalid(`bad repository "${rest}"`);
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, repository: rest, tag, digest };
}

export function formatImageRef(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}
