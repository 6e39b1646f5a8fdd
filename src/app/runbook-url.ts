import { fileURLToPath, pathToFileURL } from 'node:url';

/** `docs/diagnoses/` of this checkout (or image), where each `<CODE>.md` runbook is. */
export const RUNBOOK_DIR = fileURLToPath(new URL('../../docs/diagnoses/', import.meta.url));

/**
 * Where diagnosis cards link their runbook: `VYX_RUNBOOK_URL` (e.g. the repository's
 * `…/blob/main/docs/diagnoses/` on GitHub, which a person in Slack can open) when set, else the
 * `file://` folder of this checkout — right for a person running the bot on their own machine.
 */
export function runbookBaseUrl(configured: string | undefined): string {
  if (configured) return configured.replace(/\/?$/, '/');
  return pathToFileURL(RUNBOOK_DIR).href.replace(/\/?$/, '/');
}
