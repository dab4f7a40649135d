/**
 * Serves the prebuilt browser script from a Fastify app:
 *
 * @example
 * registerBrowserScript(app, { path: '/assets/auto-save-service.js' })
 * // <script src="/assets/auto-save-service.js" defer></script>
 */
import type { FastifyInstance } from 'fastify';
import {
  browserScriptHeaders,
  DEFAULT_BROWSER_SCRIPT_PATH,
  readBrowserScript,
  type ServeBrowserScriptOptions,
} from './browser-script.js';

export function registerBrowserScript(app: FastifyInstance, options: ServeBrowserScriptOptions = {}): void {
  const path = options.path ?? DEFAULT_BROWSER_SCRIPT_PATH;
  const files = readBrowserScript();
  app.get(path, (_request, reply) => {
    reply.headers(browserScriptHeaders(options, 'script')).send(files.script);
  });
  const { sourceMap } = files;
  if (sourceMap) {
    app.get(`${path}.map`, (_request, reply) => {
      reply.headers(browserScriptHeaders(options, 'map')).send(sourceMap);
    });
  }
}
