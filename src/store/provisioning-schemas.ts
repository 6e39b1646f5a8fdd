import { z } from 'zod';
import { cloudMachineSchema } from './store-schemas.ts';

/** A provisioning's steps, in order; `done` and `failed` end it. */
export const provisionStepSchema = z.enum(['row', 'creating', 'created', 'waiting', 'done', 'failed']);
export type ProvisionStep = z.infer<typeof provisionStepSchema>;

/** One row of `vyx_provisionings`: a provisioning's create key and progress, under a lease. */
export const provisioningSchema = z.object({
  machine_id: z.string(),
  create_key: z.string(),
  step: provisionStepSchema,
  fly_app: z.string().nullable(),
  fly_machine_id: z.string().nullable(),
  owner: z.string().nullable(),
  lease_until: z.string().nullable(),
  takeovers: z.number().int(),
  detail: z.string().nullable(),
  started_at: z.string(),
  updated_at: z.string(),
});
export type Provisioning = z.infer<typeof provisioningSchema>;

/** An unfinished provisioning claimed for recovery, with its row as it is now. */
export const claimedProvisioningSchema = provisioningSchema.extend({ row: cloudMachineSchema });
export type ClaimedProvisioning = z.infer<typeof claimedProvisioningSchema>;
