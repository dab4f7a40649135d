/**
 * `POST /api/autosave/sync/`: signed in (401), CSRF token in `x-csrf-token` (403), requests, changes
 * and body bytes a minute per user (429), body limit (413), then the sync service (the per-draft
 * and per-user quotas, 413). The first three run in one onRequest hook, before the body is read, so
 * neither a stranger nor an account over its quotas can make the server read a megabyte. The route
 * opts out of the per-request transaction: the group commit writes it, and answers only after its
 * commit.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { CSRF_HEADER, SYNC_PATH } from '../protocol/constants.js';
import { InvalidCsrfTokenError } from '../sync/api-error.js';
import { type SignedInUser, userKey } from '../sync/signed-in-user.js';
import { CsrfVerifier } from './csrf-verifier.js';
import type { ResolvedSteadfastOptions } from './steadfast-options.js';
import { announcedBodyBytes, SyncRateLimit } from './sync-rate-limit.js';

export function registerSyncRoute(
  app: FastifyInstance,
  options: ResolvedSteadfastOptions<FastifyRequest>,
): void {
  // The checks the Express router makes, with the same CsrfVerifier and SyncRateLimit, in one
  // callback hook: every sync pays for them, and as app.requireUser, app.csrfProtection and
  // @fastify/rate-limit's async hook they cost three hook calls, a hash, four promises and three
  // response headers a request (CPU profile of bench/http-overhead.bench.ts).
  const csrf = new CsrfVerifier();
  const rateLimit = new SyncRateLimit(options.limits.syncPerMinute);
  const { verifyCsrf } = options;
  const bodyLimit = options.limits.syncBodyBytes;
  const limit = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const user = request.user as SignedInUser;
    const refusal = rateLimit.hit(userKey(user));
    if (refusal) {
      reply.header('retry-after', String(refusal.retryAfterSeconds));
      done(refusal.error);
      return;
    }
    try {
      // The per-minute quotas that need no body, before it is read: an account over them costs
      // the server no parsing.
      app.steadfast.syncService.admit(user, announcedBodyBytes(request.headers['content-length'], bodyLimit));
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  };
  const guard = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    if (!request.user) {
      app.requireUser(request, reply, done);
      return;
    }
    if (verifyCsrf) {
      // The app's own check may be asynchronous; Steadfast's sessions keep the synchronous path.
      Promise.resolve(verifyCsrf(request)).then(
        (valid) => (valid ? limit(request, reply, done) : done(new InvalidCsrfTokenError())),
        (error: unknown) => done(error as Error),
      );
      return;
    }
    if (!csrf.verify(request.session?._csrf, request.headers[CSRF_HEADER])) {
      done(new InvalidCsrfTokenError());
      return;
    }
    limit(request, reply, done);
  };

  app.post(
    SYNC_PATH,
    { bodyLimit: options.limits.syncBodyBytes, onRequest: guard, config: { transaction: false } },
    // Not an async function: the service's promise is the answer, without a second one around it.
    (request, reply) => {
      // The guard let only signed-in users through.
      const user = request.user as NonNullable<FastifyRequest['user']>;
      reply.header('cache-control', 'no-store');
      return app.steadfast.syncService.sync(user, request.body, {
        requestId: request.id,
        ip: request.ip,
        bodyCounted: announcedBodyBytes(request.headers['content-length'], bodyLimit) !== undefined,
      });
    },
  );
}
