/**
 * The image a `/vyx start` asks for: the default, a bare tag of the default repository
 * (`--image v42` → `registry.fly.io/vyx-app:v42`), or a full reference as given.
 */
export function resolveImage(requested: string | undefined, defaultImage: string): string {
  if (requested === undefined) return defaultImage;
  if (requested.includes('/') || requested.includes('@')) return requested;
  const at = defaultImage.lastIndexOf('@');
  const base = at === -1 ? defaultImage : defaultImage.slice(0, at);
  const colon = base.lastIndexOf(':');
  const repository = colon > base.lastIndexOf('/') ? base.slice(0, colon) : base;
  return `${repository}:${requested}`;
}
