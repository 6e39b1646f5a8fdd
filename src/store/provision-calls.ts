import { z } from 'zod';
import type { ProvisionStep } from './provisioning-schemas.ts';
import {
  type CloudMachine,
  cloudMachineSchema,
  type ProvisionResult,
  provisionResultSchema,
} from './store-schemas.ts';

/** One SQL function call through PostgREST: its name, named arguments, the answer's schema, GET when read-only. */
export interface RpcCall<T> {
  fn: string;
  args: Record<string, unknown>;
  schema: z.ZodType<T>;
  get?: boolean;
}

/**
 * The SQL calls of a provisioning, as data: the bot's store (supabase-js on Node) and the edge
 * function `provision-machine` (fetch on Deno) make the same calls with the same arguments from here.
 */
export const provisionCalls = {
  getActiveMachine: (userId: string): RpcCall<CloudMachine[]> => ({
    fn: 'vyx_get_active_machine',
    args: { p_user_id: userId },
    schema: z.array(cloudMachineSchema),
    get: true,
  }),
  getMachine: (machineId: string): RpcCall<CloudMachine> => ({
    fn: 'vyx_get_machine',
    args: { p_machine_id: machineId },
    schema: cloudMachineSchema,
    get: true,
  }),
  beginTrackedProvision: (input: {
    userId: string;
    flyApp: string;
    region: string;
    image: string;
    createKey: string;
    owner: string;
    leaseS: number;
    slackTeamId?: string;
    slackChannel?: string;
    requestedBy?: string;
  }): RpcCall<ProvisionResult> => ({
    fn: 'vyx_begin_tracked_provision',
    args: {
      p_user_id: input.userId,
      p_fly_app: input.flyApp,
      p_region: input.region,
      p_image: input.image,
      p_create_key: input.createKey,
      p_owner: input.owner,
      p_lease_s: input.leaseS,
      p_slack_team_id: input.slackTeamId,
      p_slack_channel: input.slackChannel,
      p_requested_by: input.requestedBy,
    },
    schema: provisionResultSchema,
  }),
  provisionStep: (
    machineId: string,
    owner: string,
    step: ProvisionStep,
    more: { leaseS?: number; flyMachineId?: string; detail?: string } = {},
  ): RpcCall<boolean> => ({
    fn: 'vyx_provision_step',
    args: {
      p_machine_id: machineId,
      p_owner: owner,
      p_step: step,
      p_lease_s: more.leaseS,
      p_fly_machine_id: more.flyMachineId,
      p_detail: more.detail,
    },
    schema: z.boolean(),
  }),
  attachFlyMachine: (machineId: string, flyMachineId: string, flyApp?: string): RpcCall<CloudMachine> => ({
    fn: 'vyx_attach_fly_machine',
    args: { p_machine_id: machineId, p_fly_machine_id: flyMachineId, p_fly_app: flyApp },
    schema: cloudMachineSchema,
  }),
};
