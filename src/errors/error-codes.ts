/**
 * Every code a VyxError may carry, with what it means: programs branch on the code, people read
 * the meaning (and the error's own description and suggestion). Diagnosis codes are a separate
 * list (`DIAGNOSIS_CODES` in `src/diagnose/diagnosis.ts`): they name why a machine is stuck, not
 * why an operation failed.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: 'a configuration value cannot be used (wrong format, wrong kind of token)',
  CONFIG_MISSING: 'production mode without a credential it needs',
  ENV_INVALID: "a machine's environment breaks the bot/runtime contract",
  FLY_UNAUTHORIZED: 'Fly rejected the API token (401)',
  FLY_FORBIDDEN: 'the Fly token may not do this (403)',
  FLY_NOT_FOUND: 'Fly does not know the app or machine (404)',
  FLY_TIMEOUT: 'Fly did not answer, or the machine did not reach the state, within the deadline',
  FLY_CONFLICT: "Fly refused because of the machine's current state (409)",
  FLY_LEASE_HELD: 'someone else holds the Fly lease on the machine, so it may not be changed now (409)',
  FLY_RATE_LIMITED: 'Fly rate-limited the request (429) beyond the retries',
  FLY_UNAVAILABLE: 'Fly could not be reached or answered 5xx',
  FLY_BAD_REQUEST: 'Fly refused the request as malformed (4xx)',
  FLY_LOGS_UNAVAILABLE: "Fly's logs endpoint did not answer (the diagnosis stands without logs)",
  FLY_NOT_STARTED: 'the machine stopped or failed on Fly instead of starting',
  IMAGE_REF_INVALID: 'an image reference that is not one (path-like, empty tag, bad digest)',
  IMAGE_REGISTRY_NOT_ALLOWED: 'an image in a registry outside Fly and VYX_ALLOWED_REGISTRIES',
  REGION_UNKNOWN: 'a region Fly does not have',
  LOCAL_DB_LOCKED: "the local twin's database is already open in another process",
  MIGRATION_CHANGED: 'a migration file changed after it was applied',
  PORT_IN_USE: 'a port the bot or a twin should listen on is taken or refused',
  PROVISION_ROW_ENDED: 'the row was destroyed or failed while Fly made its machine',
  PROVISION_TAKEN_OVER: "another replica's recovery took over this provisioning (its lease expired)",
  READY_TIMEOUT: 'a readiness check got no answer within its deadline',
  SLACK_CREDENTIALS_INVALID: 'Slack refused a token at start-up',
  SLACK_TWIN_LISTEN_FAILED: 'the Slack twin could not listen',
  STORE_NOT_FOUND: 'no row matched (SQLSTATE P0001)',
  STORE_CONFLICT: 'the change conflicts with the row (PT409, 23505)',
  STORE_INVALID: 'an argument outside the vocabulary (22023, other 4xx)',
  STORE_UNAUTHORIZED: 'the database refused the key (401/403)',
  STORE_UNAVAILABLE: 'Supabase or the database could not be reached',
  STORE_FAILED: 'the database failed otherwise',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;
