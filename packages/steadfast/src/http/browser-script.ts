/**
 * The prebuilt browser script (`auto-save-service.js`, one file setting `window.autoSaveService`)
 * and its source map, as files an app serves. Found beside the compiled library (`dist/browser/`);
 * from the TypeScript sources (the library's own tests) it is the build's output.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Route } from './route-table.js';

export const BROWSER_SCRIPT_NAME = 'auto-save-service.js';

/** Thrown when the script was never built (`npm run build` in the library). */
export class BrowserScriptMissingError extends Error {
  readonly code = 'browser_script_missing';
  override readonly name = 'BrowserScriptMissingError';
}

/** The folder holding `auto-save-service.js` and `auto-save-service.js.map`. */
export function browserScriptDirectory(): string {
  const candidates = [
    new URL('../browser/', import.meta.url),
    new URL('../../dist/browser/', import.meta.url),
  ];
  for (const candidate of candidates) {
    if (existsSync(new URL(BROWSER_SCRIPT_NAME, candidate))) return fileURLToPath(candidate);
  }
  throw new BrowserScriptMissingError(
    `${BROWSER_SCRIPT_NAME} is missing beside the library: run "npm run build" in packages/steadfast`,
  );
}

export interface BrowserScriptFiles {
  readonly script: Buffer;
  readonly sourceMap: Buffer | undefined;
}

/** Both files, read once: they never change while the process runs. */
export function readBrowserScript(): BrowserScriptFiles {
  const directory = browserScriptDirectory();
  const mapFile = `${directory}${BROWSER_SCRIPT_NAME}.map`;
  return {
    script: readFileSync(`${directory}${BROWSER_SCRIPT_NAME}`),
    sourceMap: existsSync(mapFile) ? readFileSync(mapFile) : undefined,
  };
}

export interface ServeBrowserScriptOptions {
  /** URL of the script (default `/steadfast/auto-save-service.js`); its map is served at `<path>.map`. */
  readonly path?: string;
  /** `Cache-Control` max-age in seconds (default 0: revalidate each time, for development). */
  readonly maxAgeSeconds?: number;
}

export const DEFAULT_BROWSER_SCRIPT_PATH = `/steadfast/${BROWSER_SCRIPT_NAME}`;

/** The headers both adapters answer the script with. */
export function browserScriptHeaders(
  options: ServeBrowserScriptOptions,
  kind: 'script' | 'map',
): Readonly<Record<string, string>> {
  return {
    'content-type': kind === 'script' ? 'text/javascript; charset=utf-8' : 'application/json; charset=utf-8',
    'cache-control': options.maxAgeSeconds
      ? `public, max-age=${Math.trunc(options.maxAgeSeconds)}`
      : 'no-cache',
    'x-content-type-options': 'nosniff',
  };
}

/**
 * The script's route and its map's (when the build made one), as rows of the route table: what
 * `registerBrowserScript` (Fastify) and `browserScriptRouter` (Express) register. Throws
 * BrowserScriptMissingError when the script was never built.
 */
export function browserScriptRoutes(options: ServeBrowserScriptOptions = {}): Route[] {
  const path = options.path ?? DEFAULT_BROWSER_SCRIPT_PATH;
  const files = readBrowserScript();
  const serve = (url: string, kind: 'script' | 'map', body: Buffer): Route => {
    const reply = { status: 200, headers: browserScriptHeaders(options, kind), body };
    return {
      method: 'GET',
      path: url,
      signedIn: false,
      csrf: false,
      rateLimited: false,
      ownTransactions: false,
      handle: () => reply,
    };
  };
  const routes = [serve(path, 'script', files.script)];
  if (files.sourceMap) routes.push(serve(`${path}.map`, 'map', files.sourceMap));
  return routes;
}
