/**
 * The prebuilt browser script (`auto-save-service.js`, one file setting `window.autoSaveService`)
 * and its source map, as files an app serves. Found beside the compiled library (`dist/browser/`);
 * from the TypeScript sources (the library's own tests) it is the build's output.
 *
 * A browser that accepts gzip gets `auto-save-service.js.gz`, compressed by the build (zopfli,
 * smaller than any compression done per response); any other client gets the script as it is.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Negotiator from 'negotiator';
import type { Route, RouteReply, RouteRequest } from './route-table.js';

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
  /** The script gzipped by the build; undefined for a build that made none. */
  readonly gzippedScript: Buffer | undefined;
  readonly sourceMap: Buffer | undefined;
}

/** The files, read once: they never change while the process runs. */
export function readBrowserScript(): BrowserScriptFiles {
  const directory = browserScriptDirectory();
  const readIfBuilt = (file: string) => (existsSync(file) ? readFileSync(file) : undefined);
  return {
    script: readFileSync(`${directory}${BROWSER_SCRIPT_NAME}`),
    gzippedScript: readIfBuilt(`${directory}${BROWSER_SCRIPT_NAME}.gz`),
    sourceMap: readIfBuilt(`${directory}${BROWSER_SCRIPT_NAME}.map`),
  };
}

/** Whether the request's Accept-Encoding takes gzip (`gzip`, `*`, with a q above 0). */
export function acceptsGzip(headers: RouteRequest['headers']): boolean {
  const header = headers['accept-encoding'];
  // Node joins repeated headers into one string; a list (the type allows one) reads the same way.
  const accepted = Array.isArray(header) ? header.join(', ') : header;
  return (
    new Negotiator({ headers: { 'accept-encoding': accepted } }).encoding(['gzip', 'identity']) === 'gzip'
  );
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
  const serve = (url: string, handle: Route['handle']): Route => ({
    method: 'GET',
    path: url,
    signedIn: false,
    csrf: false,
    rateLimited: false,
    ownTransactions: false,
    handle,
  });
  const plain: RouteReply = {
    status: 200,
    headers: browserScriptHeaders(options, 'script'),
    body: files.script,
  };
  const { gzippedScript } = files;
  let script: Route['handle'] = () => plain;
  if (gzippedScript) {
    // Caches keep the two answers apart by the header that chose between them.
    const vary = { ...plain.headers, vary: 'Accept-Encoding' };
    const identity: RouteReply = { ...plain, headers: vary };
    const gzipped: RouteReply = {
      status: 200,
      headers: { ...vary, 'content-encoding': 'gzip' },
      body: gzippedScript,
    };
    script = (request) => (acceptsGzip(request.headers) ? gzipped : identity);
  }
  const routes = [serve(path, script)];
  const { sourceMap } = files;
  if (sourceMap) {
    const reply: RouteReply = { status: 200, headers: browserScriptHeaders(options, 'map'), body: sourceMap };
    routes.push(serve(`${path}.map`, () => reply));
  }
  return routes;
}
