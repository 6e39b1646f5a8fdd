/** The app-level routes: `GET /v1/apps/:app/secrets` (names and dates, never values). */
import {
  appOr404,
  type EmulatorParts,
  type Reply,
  type RequestContext,
  type Route,
  routePattern,
  SEGMENT,
} from './emulator-reply.ts';

export function appRoutes({ store }: EmulatorParts): Route[] {
  function listSecrets(ctx: RequestContext): Reply {
    const app = appOr404(store, ctx.params[0]);
    if (!('machines' in app)) return app;
    return { status: 200, body: store.secretsJson(app) };
  }

  return [
    {
      method: 'GET',
      template: '/v1/apps/:app/secrets',
      pattern: routePattern(`/v1/apps/${SEGMENT}/secrets`),
      handler: listSecrets,
    },
  ];
}
