/**
 * `/status`: the System Status list, checked live. Open without signing in (an operator checking
 * an outage may not be able to sign in: the session store is the database), but then it says only
 * up or down per component: what each check found (log entry ids, timings) is for administrators.
 */
import type { FastifyInstance } from 'fastify';
import { renderPage } from '../render.js';
import { permissionsOf } from '../roles.js';
import { checkSystemStatus, publicStatus } from '../status-checks.js';
import type { RouteDependencies } from './route-dependencies.js';

export function registerStatusRoutes(app: FastifyInstance, dependencies: RouteDependencies): void {
  const { database, persistence } = dependencies;

  app.get('/status', async (request, reply) => {
    const components = await checkSystemStatus({
      database,
      persistence,
      probe: async (url) => {
        const response = await app.inject({ method: 'GET', url });
        return { statusCode: response.statusCode };
      },
    });
    const allActive = components.every((component) => component.state === 'active');
    const detail =
      request.user !== null && (await permissionsOf(persistence, Number(request.user.id))).operatorDetail;
    return renderPage(
      persistence,
      request,
      reply,
      'status',
      {
        components: detail ? components : components.map(publicStatus),
        allActive,
        checkedAt: new Date().toISOString(),
      },
      // A signed-in page still needs its token; an anonymous one must not write a session while
      // the database may be the thing that is down.
      { title: 'System status', nav: 'status', status: allActive ? 200 : 503, csrf: request.user !== null },
    );
  });
}
