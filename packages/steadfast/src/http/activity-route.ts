/**
 * `GET /api/activity`: the ActivityLog, filtered by query string, newest first, cursor paged and
 * bounded in bytes; `GET /api/activity/:id`: one entry in full. Both as the signed-in user may see
 * them (activity-service.ts), and never cached.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

export const ACTIVITY_PATH = '/api/activity';
export const ACTIVITY_ENTRY_PATH = '/api/activity/:id';

export function registerActivityRoute(app: FastifyInstance): void {
  const { activity } = app.steadfast;
  app.get(ACTIVITY_PATH, { onRequest: [app.requireUser] }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    return activity.query(request.user as NonNullable<FastifyRequest['user']>, request.query);
  });
  app.get<{ Params: { id: string } }>(
    ACTIVITY_ENTRY_PATH,
    { onRequest: [app.requireUser] },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return activity.entry(request.user as NonNullable<FastifyRequest['user']>, request.params.id);
    },
  );
}
