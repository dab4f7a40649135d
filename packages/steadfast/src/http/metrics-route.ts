/** `GET /metrics`: Prometheus text of `app.metrics` (Steadfast's and whatever the app added), behind its token. */
import type { FastifyInstance } from 'fastify';
import { hasMetricsToken, METRICS_PATH, metricsTokenRequired } from './metrics-access.js';

export { METRICS_PATH } from './metrics-access.js';

export function registerMetricsRoute(app: FastifyInstance, token: string): void {
  app.get(METRICS_PATH, async (request, reply) => {
    if (!hasMetricsToken(request.headers.authorization, token)) {
      reply.header('www-authenticate', 'Bearer realm="metrics"');
      throw metricsTokenRequired();
    }
    reply.type(app.metrics.contentType).header('cache-control', 'no-store');
    return app.metrics.metrics();
  });
}
