/**
 * The emulator's image catalogue: which image refs exist and what a machine of each runs.
 * A ref outside it behaves as a tag missing from registry.fly.io (incident 001): the registry
 * answers 404 MANIFEST_UNKNOWN / NAME_UNKNOWN and a machine created from it fails to launch.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatImageRef, type ImageRef, parseImageRef } from '../../fly/image-ref.ts';

export interface ImageCatalogueEntry {
  /** e.g. `registry.fly.io/vyx-app:latest`. */
  ref: string;
  /** argv of the machine's process. */
  command: string[];
  cwd?: string;
  labels?: Record<string, string>;
}

export interface CatalogueImage {
  ref: ImageRef;
  /** Canonical `registry/repository:tag`. */
  name: string;
  command: string[];
  cwd: string | undefined;
  labels: Record<string, string>;
  /** sha256 of `manifest`, as a registry computes it. */
  digest: string;
  manifest: string;
  mediaType: string;
}

export interface ImageCatalogue {
  /** The image a machine `config.image` names, or undefined when the emulator does not hold it. */
  resolve(imageRef: string): CatalogueImage | undefined;
  /** Registry lookup (any registry host): by tag or digest within a repository. */
  findManifest(repository: string, reference: string): CatalogueImage | undefined;
  hasRepository(repository: string): boolean;
  add(entry: ImageCatalogueEntry): CatalogueImage;
  remove(imageRef: string): boolean;
  list(): CatalogueImage[];
}

const MEDIA_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';

function toImage(entry: ImageCatalogueEntry): CatalogueImage {
  const ref = parseImageRef(entry.ref);
  const name = formatImageRef({ ...ref, digest: undefined });
  const configDigest = `sha256:${createHash('sha256').update(`vyx-emulator:${name}`).digest('hex')}`;
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE,
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 0, digest: configDigest },
    layers: [],
  });
  const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  return {
    ref: { ...ref, digest },
    name,
    command: [...entry.command],
    cwd: entry.cwd,
    labels: { ...entry.labels },
    digest,
    manifest,
    mediaType: MEDIA_TYPE,
  };
}

export function createImageCatalogue(entries: ImageCatalogueEntry[] = []): ImageCatalogue {
  const images = new Map<string, CatalogueImage>();
  const add = (entry: ImageCatalogueEntry) => {
    const image = toImage(entry);
    images.set(image.name, image);
    return image;
  };
  for (const entry of entries) add(entry);
  return {
    resolve(imageRef) {
      let ref: ImageRef;
      try {
        ref = parseImageRef(imageRef);
      } catch {
        return undefined;
      }
      if (ref.tag !== undefined) {
        const image = images.get(formatImageRef({ ...ref, digest: undefined }));
        if (image && (ref.digest === undefined || ref.digest === image.digest)) return image;
        return undefined;
      }
      for (const image of images.values()) {
        if (
          image.ref.registry === ref.registry &&
          image.ref.repository === ref.repository &&
          image.digest === ref.digest
        ) {
          return image;
        }
      }
      return undefined;
    },
    findManifest(repository, reference) {
      for (const image of images.values()) {
        if (image.ref.repository !== repository) continue;
        if (image.ref.tag === reference || image.digest === reference) return image;
      }
      return undefined;
    },
    hasRepository(repository) {
      for (const image of images.values()) if (image.ref.repository === repository) return true;
      return false;
    },
    add,
    remove(imageRef) {
      return images.delete(formatImageRef({ ...parseImageRef(imageRef), digest: undefined }));
    },
    list() {
      return [...images.values()];
    },
  };
}

/** The repository root (for the default catalogue's runtime command). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * The default catalogue of an app: `:latest` and the incident's good deployment tag run the vyx
 * runtime (`node runtime/main.ts`). `:stub` (the incident's tag) is deliberately absent.
 */
export function defaultImageCatalogueEntries(app = 'vyx-app', repoRoot = REPO_ROOT): ImageCatalogueEntry[] {
  const command = [process.execPath, path.join(repoRoot, 'runtime', 'main.ts')];
  return [
    { ref: `registry.fly.io/${app}:latest`, command, cwd: repoRoot },
    { ref: `registry.fly.io/${app}:deployment-01K6JV132H7B7Y5PP8Y5QSR23X`, command, cwd: repoRoot },
  ];
}

/**
 * The runner's words for an image it cannot pull, in the registry's own terms (what `docker pull`
 * prints against registry.fly.io): no such tag, or no such repository.
 */
export function pullFailure(catalogue: ImageCatalogue, image: string): string {
  let repository: string | undefined;
  try {
    repository = parseImageRef(image).repository;
  } catch {
    return `failed to pull image ${image}: invalid reference format`;
  }
  return catalogue.hasRepository(repository)
    ? `failed to pull image ${image}: manifest unknown: manifest unknown`
    : `failed to pull image ${image}: name unknown: app repository not found`;
}
