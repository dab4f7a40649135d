/**
 * The same API for Express apps: `createExpressRouter` registers the route table (route-table.ts)
 * over the same core as the Fastify plugin. Sessions are the plugin's: the signed session cookie
 * is checked with the same secret against the same sessions table, and the CSRF token against the
 * session's secret (session-reader.ts), so a user signed in through a Fastify app (or any process
 * sharing the database) is signed in here too. Pass `authenticate` to use your own.
 *
 * @example
 * app.use(createExpressRouter({ database, persistence, sessionSecret: process.env.SESSION_SECRET }))
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Registry } from 'prom-client';
import { toApiError } from '../../error-handler.js';
import { createSessionReader } from '../../session-reader.js';
import { createSteadfastCore } from '../../steadfast-core.js';
import { parseSteadfastOptions, type SteadfastOptions } from '../../steadfast-options.js';
import { addRoute, type ExpressAuthenticate } from './express-route.js';

/** The router's options: the one options interface both adapters share (see steadfast-options.ts). */
export type ExpressRouterOptions = SteadfastOptions<Request>;

export type SteadfastExpressRouter = Router & {
  readonly metrics: Registry;
  /**
   * Waits for sync requests in flight and saves outside requests to commit, and closes the metrics
   * listener (`metrics.listen`); call before closing the database.
   */
  close(): Promise<void>;
};

/**
 * @example
 * app.use(createExpressRouter({ persistence, authenticate: (req) => userFromMyCookie(req), verifyCsrf: (req) => checkMyToken(req) }))
 */
export function createExpressRouter(rawOptions: ExpressRouterOptions): SteadfastExpressRouter {
  const options = parseSteadfastOptions<Request>(rawOptions, 'createExpressRouter');
  const core = createSteadfastCore(options);
  // Started at once (a router has no start hook); `close()` stops it.
  core.metricsListener?.catch((error: unknown) =>
    process.emitWarning(`steadfast: the metrics listener did not start: ${String(error)}`),
  );
  const { metrics } = core;

  let authenticate: ExpressAuthenticate;
  if (options.authenticate) {
    const appAuthenticate = options.authenticate;
    authenticate = async (request) => {
      const user = await appAuthenticate(request);
      return user ? { user } : null;
    };
  } else {
    const readSession = createSessionReader({
      persistence: options.persistence,
      secret: options.sessionSecret as string,
      cookieName: options.cookieName,
    });
    authenticate = (request) => readSession(request.headers.cookie);
  }

  const router = express.Router() as SteadfastExpressRouter;
  Object.defineProperty(router, 'metrics', { value: metrics.registry });
  Object.defineProperty(router, 'close', { value: () => core.close() });

  router.use((request, response, next) => {
    const started = process.hrtime.bigint();
    response.on('finish', () => {
      const route = (request.route as { path?: string } | undefined)?.path ?? 'unmatched';
      metrics.requests.inc({ method: request.method, route, status: String(response.statusCode) });
      metrics.requestDuration.observe(
        { method: request.method, route },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
    });
    next();
  });

  for (const route of core.routes) addRoute(router, route, authenticate);

  // Express 5 hands rejected async handlers here; body-parser errors carry `status` and `type`.
  router.use((error: unknown, _request: Request, response: Response, next: NextFunction) => {
    if (response.headersSent) {
      next(error);
      return;
    }
    const { status, body, headers } = toApiError(error);
    response.status(status).set(headers).json(body);
  });
  return router;
}
