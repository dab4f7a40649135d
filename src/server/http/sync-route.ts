/**
 * `POST /api/autosave/sync/`: signed in (401), CSRF token in `x-csrf-token` (403), body limit
 * (413), rate limit per user (429), then the sync service. Both checks run at onRequest, before
 * the body is read, so a stranger cannot make the server read a megabyte. The route opts out of
 * the per-request transaction: the group commit writes it, and answers only after its commit.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SYNC_PATH } from '../../protocol/constants.js';
import type { ResolvedSteadfastOptions } from './steadfast-plugin.js';

export function registerSyncRoute(app: FastifyInstance, options: ResolvedSteadfastOptions): void {
  app.post(
    SYNC_PATH,
    {
      bodyLimit: options.limits.syncBodyBytes,
      onRequest: [app.requireUser, app.csrfProtection],
      config: {
        transaction: false,
        rateLimit: {
          max: options.limits.syncPerMinute,
          timeWindow: 60_000,
          keyGenerator: (request: FastifyRequest) =>
            request.user ? `sync:u:${request.user.id}` : `sync:ip:${request.ip}`,
        },
      },
    },
    async (request) => {
      // requireUser ran first, so the user is there.
      const user = request.user as NonNullable<FastifyRequest['user']>;
      return app.steadfast.syncService.sync(user, request.body, { requestId: request.id, ip: request.ip });
    },
  );
}
