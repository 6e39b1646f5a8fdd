import { parseImageRef } from '../fly/image-ref.ts';
import type { ImageCheck } from '../fly/registry-answer.ts';

// The fixes of the three image codes, shared by the watcher's rules and /vyx start's preflight so
// both say the same thing. Each names a command or the exact outside step.

/** Registry, repository and tag of a reference, or placeholders when it does not parse. */
export function imageParts(ref: string): { registry: string; repository: string; tag: string | undefined } {
  try {
    const parsed = parseImageRef(ref);
    return { registry: parsed.registry, repository: parsed.repository, tag: parsed.tag };
  } catch {
    return { registry: 'the registry', repository: ref, tag: undefined };
  }
}

export function tagMissingFix(ref: string): string {
  const { tag } = imageParts(ref);
  return `Push the image with that tag (fly deploy --build-only --push --image-label ${tag ?? '<tag>'}), or point FLY_IMAGE / --image at a tag that exists, then /vyx start again. Pin machines to an immutable tag and keep :latest moving.`;
}

export function repositoryMissingFix(ref: string): string {
  const { registry, repository } = imageParts(ref);
  return `Fix the repository name (on ${registry} it is the Fly app's name) in FLY_IMAGE or the web UI's DOCKER_IMAGE — fly apps list shows the names — or create that app and push the image to it (fly deploy --build-only --push -a ${repository}), then /vyx start again.`;
}

/** What to do when the registry could not say, by its answer. */
export function unverifiedFix(check: Pick<Extract<ImageCheck, { status: 'unknown' }>, 'httpStatus'>): string {
  const status = check.httpStatus;
  if (status === 401) {
    return 'The registry refused the bot’s credentials: set FLY_API_TOKEN to a valid token of the image’s organization (fly tokens create org -o <org>) and restart the bot.';
  }
  if (status === 403) {
    return 'The token is valid but may not read this repository (another organization’s app, or a deploy token of a different app): set FLY_API_TOKEN to a token of the repository’s organization (fly tokens create org -o <org>), or use an image of your own app.';
  }
  if (status !== undefined && status >= 500) {
    return 'The registry is failing: check https://status.flyio.net and try again in a few minutes.';
  }
  if (status === undefined) {
    return 'The registry did not answer: check that the bot reaches it (network, proxy, DNS) and https://status.flyio.net, then try again.';
  }
  return `The registry answered ${status}: check the image reference and the bot’s FLY_API_TOKEN.`;
}

/** "the registry answered 401 UNAUTHORIZED", or why there was no answer. */
export function unverifiedInWords(check: Extract<ImageCheck, { status: 'unknown' }>): string {
  if (check.httpStatus === undefined) return check.reason;
  return `the registry answered ${check.httpStatus}${check.errorCode ? ` ${check.errorCode}` : ''}`;
}
