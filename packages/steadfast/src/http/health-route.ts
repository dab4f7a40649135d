/** `GET /health`: 200 when the database answers and its migrations are current, else 503. */
import type { FastifyInstance } from 'fastify';
import { checkHealth } from '../sync/health-service.js';

export const HEALTH_PATH = '/health';

export function registerHealthRoute(app: FastifyInstance): void {
  app.get(HEALTH_PATH, async (_request, reply) => {
    const report = await checkHealth(app.persistence.db, { sessions: app.steadfast.options.ownSessions });
    if (report.status !== 'ok') reply.code(503).header('retry-after', '5');
    return report;
  });
}
