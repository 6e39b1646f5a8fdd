/** `GET /v1/platform/regions`: the region list, public (`security: []` in the spec). */
import { type EmulatorParts, type Route, routePattern } from './emulator-reply.ts';
import { FLY_REGIONS } from './regions.ts';

export function regionRoutes({ region }: EmulatorParts): Route[] {
  return [
    {
      method: 'GET',
      template: '/v1/platform/regions',
      pattern: routePattern('/v1/platform/regions'),
      handler: () => ({ status: 200, body: { nearest: region, regions: FLY_REGIONS } }),
    },
  ];
}
