/**
 * Serves the prebuilt browser script from a Fastify app:
 *
 * @example
 * registerBrowserScript(app, { path: '/assets/auto-save-service.js' })
 * // <script src="/assets/auto-save-service.js" defer></script>
 */
import type { FastifyInstance } from 'fastify';
import { browserScriptRoutes, type ServeBrowserScriptOptions } from '../../browser-script.js';
import { registerRoute } from './fastify-route.js';

export function registerBrowserScript(app: FastifyInstance, options: ServeBrowserScriptOptions = {}): void {
  for (const route of browserScriptRoutes(options)) registerRoute(app, route);
}
