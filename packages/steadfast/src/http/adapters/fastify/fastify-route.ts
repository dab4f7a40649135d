/**
 * One row of the route table (route-table.ts) on a Fastify app: the row's checks in one callback
 * onRequest hook (before the body is read), its JSON limit as the route's `bodyLimit` (Fastify's
 * own content-type parsing reads it), the handler, and its RouteReply translated back. Errors go to
 * the app's error handler (the plugin sets `fastifyErrorHandler`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { Route, RouteReply, RouteRequest } from '../../route-table.js';

function toRouteRequest(request: FastifyRequest): RouteRequest<FastifyRequest> {
  return {
    params: request.params as Readonly<Record<string, unknown>>,
    query: request.query,
    body: request.body,
    headers: request.headers,
    ip: request.ip,
    requestId: request.id,
    // `user` is the plugin's decoration, `session` its sessions': absent when another app registers a row.
    user: request.user ?? null,
    csrfSecret: request.session?._csrf,
    raw: request,
  };
}

function sendReply(reply: FastifyReply, answer: RouteReply): unknown {
  reply.code(answer.status).headers(answer.headers);
  return answer.body;
}

export function registerRoute(app: FastifyInstance, route: Route<FastifyRequest>): void {
  const { admit, handle } = route;
  // Callback style: every sync pays for these checks, and an async hook would cost it a promise.
  const onRequest = admit
    ? (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
        let pending: void | Promise<void>;
        try {
          pending = admit(toRouteRequest(request));
        } catch (error) {
          done(error as Error);
          return;
        }
        if (pending) pending.then(() => done(), done);
        else done();
      }
    : undefined;
  app.route({
    method: route.method,
    url: route.path,
    ...(route.jsonBodyLimit === undefined ? {} : { bodyLimit: route.jsonBodyLimit }),
    // The per-request transaction (transaction-middleware.ts) must not wrap a row's own.
    ...(route.ownTransactions ? { config: { transaction: false } } : {}),
    ...(onRequest ? { onRequest } : {}),
    // Not an async function: the handler's promise, when it has one, is the answer.
    handler: (request, reply) => {
      const answer = handle(toRouteRequest(request));
      return answer instanceof Promise
        ? answer.then((settled) => sendReply(reply, settled))
        : sendReply(reply, answer);
    },
  });
}
