/**
 * What a registry's answers mean, shared by the bot's registry client (undici) and the edge
 * function's (fetch): the manifest types asked for, the error codes that mean "missing", and the
 * registry's own error code read from a body.
 */
export const MANIFEST_MEDIA_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];

export type ImageCheck =
  | { status: 'exists'; digest: string | undefined; imageRef: string }
  | { status: 'missing'; reason: string; imageRef: string; httpStatus: number; errorCode?: string }
  | { status: 'unknown'; reason: string; imageRef: string; httpStatus?: number; errorCode?: string };

export const MISSING_CODES = new Set(['MANIFEST_UNKNOWN', 'NAME_UNKNOWN', 'TAG_UNKNOWN']);

/** The registry's error code and message from a body, if it names one. */
export function registryError(text: string): { code: string; message: string } | undefined {
  try {
    const body = JSON.parse(text) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    // Codes are OCI's upper-case names; anything else (a hostile or broken registry) is not kept,
    // and the message is cut short: both end up in Slack.
    const first = body.errors?.find(
      (entry) => typeof entry.code === 'string' && /^[A-Z_]{1,40}$/.test(entry.code),
    );
    if (!first) return undefined;
    const message = typeof first.message === 'string' ? first.message.replace(/\s+/g, ' ').slice(0, 200) : '';
    return { code: String(first.code), message };
  } catch {
    return undefined;
  }
}
