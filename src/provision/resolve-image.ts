import { formatImageRef, parseImage, type RegistryPolicy } from '../fly/image-ref.ts';

/**
 * The image a `/vyx start` (or a Retry) asks for: the default, a bare tag of the default
 * repository (`--image v42` → `registry.fly.io/vyx-app:v42`), or a full reference — each through
 * the one image parser, so a path-like reference, an empty tag, a malformed digest or a registry
 * that is not allowed is refused (VyxError) before anything is created.
 */
export function resolveImage(
  requested: string | undefined,
  defaultImage: string,
  policy: RegistryPolicy,
): string {
  if (requested === undefined) return formatImageRef(parseImage(defaultImage, policy));
  const text = requested.trim();
  if (text.includes('/') || text.includes('@') || text.includes(':') || text === '') {
    return formatImageRef(parseImage(text, policy));
  }
  const base = parseImage(defaultImage, policy);
  return formatImageRef(parseImage(formatImageRef({ ...base, tag: text, digest: undefined }), policy));
}
