/**
 * Serves the prebuilt browser script from an Express app:
 *
 * @example
 * app.use(browserScriptRouter({ path: '/assets/auto-save-service.js' }))
 * // <script src="/assets/auto-save-service.js" defer></script>
 */
import express, { type Router } from 'express';
import {
  browserScriptHeaders,
  DEFAULT_BROWSER_SCRIPT_PATH,
  readBrowserScript,
  type ServeBrowserScriptOptions,
} from './browser-script.js';

export function browserScriptRouter(options: ServeBrowserScriptOptions = {}): Router {
  const path = options.path ?? DEFAULT_BROWSER_SCRIPT_PATH;
  const files = readBrowserScript();
  const router = express.Router();
  router.get(path, (_request, response) => {
    response.set(browserScriptHeaders(options, 'script')).send(files.script);
  });
  const { sourceMap } = files;
  if (sourceMap) {
    router.get(`${path}.map`, (_request, response) => {
      response.set(browserScriptHeaders(options, 'map')).send(sourceMap);
    });
  }
  return router;
}
