/**
 * Serves the prebuilt browser script from an Express app:
 *
 * @example
 * app.use(browserScriptRouter({ path: '/assets/auto-save-service.js' }))
 * // <script src="/assets/auto-save-service.js" defer></script>
 */
import express, { type Router } from 'express';
import { browserScriptRoutes, type ServeBrowserScriptOptions } from '../../browser-script.js';
import { addRoute } from './express-route.js';

export function browserScriptRouter(options: ServeBrowserScriptOptions = {}): Router {
  const router = express.Router();
  for (const route of browserScriptRoutes(options)) addRoute(router, route);
  return router;
}
