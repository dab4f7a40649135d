/** `GET /api/activity`: the ActivityLog, filtered by query string, newest first, cursor paged. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { queryActivity } from '../sync/activity-service.js';

export const ACTIVITY_PATH = '/api/activity';

export function registerActivityRoute(app: FastifyInstance): void {
  app.get(ACTIVITY_PATH, { onRequest: [app.requireUser] }, async (request) =>
    queryActivity(app.persistence, request.query, request.user as NonNullable<FastifyRequest['user']>),
  );
}
