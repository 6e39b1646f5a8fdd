import { FLY_REGISTRY, isRegistryHost, parseImageRef, type RegistryPolicy } from './image-ref.ts';

/** Which registries the bot may contact, which get the Fly token, and where each is reached. */
export interface RegistryAccess {
  policy: RegistryPolicy;
  baseUrlFor(registryHost: string): string;
}

/**
 * The Fly token belongs to Fly: only `registry.fly.io` (and, locally, the Fly emulator, which
 * stands for that host and its own) ever gets it. FLY_IMAGE's host, when it is another registry,
 * and the operator's VYX_ALLOWED_REGISTRIES are contacted anonymously; every other host never.
 */
export function registryAccess(o: {
  defaultImage: string;
  allowedRegistries?: readonly string[];
  /** The Fly emulator's origin (`http://127.0.0.1:<port>`), locally. */
  emulatorOrigin?: string;
}): RegistryAccess {
  const emulatorHost = o.emulatorOrigin ? new URL(o.emulatorOrigin).host : undefined;
  const credentialHosts = [FLY_REGISTRY, ...(emulatorHost ? [emulatorHost] : [])];
  const defaultHost = parseImageRef(o.defaultImage).registry;
  const allowedHosts = [...new Set([defaultHost, ...(o.allowedRegistries ?? [])])].filter(
    (host) => isRegistryHost(host) && !credentialHosts.includes(host),
  );
  const origin = o.emulatorOrigin?.replace(/\/+$/, '');
  return {
    policy: { credentialHosts, allowedHosts },
    baseUrlFor: (host) => (origin && credentialHosts.includes(host) ? origin : `https://${host}`),
  };
}
