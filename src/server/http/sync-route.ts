/**
 * `POST /api/autosave/sync/`: signed in (401), CSRF token in `x-csrf-token` (403), rate limit per
 * user (429), body limit (413), then the sync service. The first three run at onRequest, before the
 * body is read, so a stranger cannot make the server read a megabyte. The route opts out of the
 * per-request transaction: the group commit writes it, and answers only after its commit.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { SYNC_PATH } from '../../protocol/constants.js';
import { ApiError } from './api-error.js';
import { FixedWindowLimiter } from './fixed-window-limiter.js';
import type { ResolvedSteadfastOptions } from './steadfast-plugin.js';

export function registerSyncRoute(app: FastifyInstance, options: ResolvedSteadfastOptions): void {
  // The same per-process fixed window as the Express router's, as a callback hook: every sync pays
  // for the limit, and @fastify/rate-limit's async hook cost it four promises and a response header
  // set per request (CPU profile of bench/http-overhead.bench.ts).
  const limiter = new FixedWindowLimiter(options.limits.syncPerMinute, 60_000);
  const rateLimit = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    // requireUser ran first, so the user is there.
    const wait = limiter.hit(`sync:u:${(request.user as NonNullable<FastifyRequest['user']>).id}`);
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      done(new ApiError('rate_limited', `Too many requests; retry in ${wait} seconds.`));
      return;
    }
    done();
  };

  app.post(
    SYNC_PATH,
    {
      bodyLimit: options.limits.syncBodyBytes,
      onRequest: [app.requireUser, app.csrfProtection, rateLimit],
      config: { transaction: false },
    },
    async (request) => {
      const user = request.user as NonNullable<FastifyRequest['user']>;
      return app.steadfast.syncService.sync(user, request.body, { requestId: request.id, ip: request.ip });
    },
  );
}
