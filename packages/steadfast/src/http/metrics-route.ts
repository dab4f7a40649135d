/** `GET /metrics`: Prometheus text of `app.metrics` (Steadfast's and whatever the app added). */
import type { FastifyInstance } from 'fastify';

export const METRICS_PATH = '/metrics';

export function registerMetricsRoute(app: FastifyInstance): void {
  app.get(METRICS_PATH, async (_request, reply) => {
    reply.type(app.metrics.contentType);
    return app.metrics.metrics();
  });
}
