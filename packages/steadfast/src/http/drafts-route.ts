/** `GET /api/autosave/drafts/` (all of the user's drafts and states) and `?key=…` (one key); never cached. */
import type { FastifyInstance, FastifyRequest, RouteShorthandOptions } from 'fastify';
import { DRAFTS_PATH } from '../protocol/constants.js';
import { listDrafts } from '../sync/drafts-service.js';

export function registerDraftsRoute(app: FastifyInstance, routeOptions: RouteShorthandOptions = {}): void {
  app.get(DRAFTS_PATH, { ...routeOptions, onRequest: [app.requireUser] }, async (request, reply) => {
    const user = request.user as NonNullable<FastifyRequest['user']>;
    reply.header('cache-control', 'no-store');
    return listDrafts(app.persistence, user, request.query);
  });
}
