/**
 * The prebuilt browser script (`auto-save-service.js`, one file setting `window.autoSaveService`)
 * and its source map, as files an app serves. Found beside the compiled library (`dist/browser/`);
 * from the TypeScript sources (the library's own tests) it is the build's output.
 *
 * A browser gets the script compressed once by the build, in the encoding it prefers among those
 * the build made: `auto-save-service.js.br` (Brotli) or `auto-save-service.js.gz` (zopfli's gzip),
 * both smaller than a compression middleware makes per response; any other client gets it as it is.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import isFresh from 'fresh';
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

/** The encodings the build compresses the script in, best first: the answer's `content-encoding`. */
export const SCRIPT_ENCODINGS = ['br', 'gzip'] as const;
export type ScriptEncoding = (typeof SCRIPT_ENCODINGS)[number];
const FILE_SUFFIX: Record<ScriptEncoding, string> = { br: '.br', gzip: '.gz' };

export interface BrowserScriptFiles {
  readonly script: Buffer;
  /** The script compressed by the build, for each encoding it made. */
  readonly encoded: Partial<Record<ScriptEncoding, Buffer>>;
  readonly sourceMap: Buffer | undefined;
}

/** The files, read once: they never change while the process runs. */
export function readBrowserScript(): BrowserScriptFiles {
  const directory = browserScriptDirectory();
  const readIfBuilt = (file: string) => (existsSync(file) ? readFileSync(file) : undefined);
  const scriptFile = `${directory}${BROWSER_SCRIPT_NAME}`;
  const encoded: Partial<Record<ScriptEncoding, Buffer>> = {};
  for (const encoding of SCRIPT_ENCODINGS) {
    const body = readIfBuilt(scriptFile + FILE_SUFFIX[encoding]);
    if (body) encoded[encoding] = body;
  }
  return { script: readFileSync(scriptFile), encoded, sourceMap: readIfBuilt(`${scriptFile}.map`) };
}

/** negotiator 1.x breaks ties by the server's preference; @types/negotiator (0.6) predates that option. */
type PreferringChooser = (available: string[], options: { preferred: string[] }) => string | undefined;

/**
 * The encoding to send, of those `available`, by the request's Accept-Encoding (its q-values; the
 * order of `available` between equals), or undefined for the script as it is.
 */
export function chooseScriptEncoding(
  headers: RouteRequest['headers'],
  available: readonly ScriptEncoding[],
): ScriptEncoding | undefined {
  const header = headers['accept-encoding'];
  // Node joins repeated headers into one string; a list (the type allows one) reads the same way.
  const accepted = Array.isArray(header) ? header.join(', ') : header;
  const offered = [...available, 'identity'];
  const negotiator = new Negotiator({ headers: { 'accept-encoding': accepted } });
  const chosen = (negotiator.encoding as PreferringChooser).call(negotiator, offered, { preferred: offered });
  return available.find((encoding) => encoding === chosen);
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
 * A file's answer, with a strong ETag from its bytes: each encoding is a representation of its own.
 * With it, `Cache-Control: no-cache` (the default) revalidates in a 304 instead of downloading again.
 */
function fileReply(headers: Readonly<Record<string, string>>, body: Buffer): RouteReply {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  return { status: 200, headers: { ...headers, etag }, body };
}

/** 304 with the headers a cache refreshes (RFC 9110 15.4.5) when the client's copy is current. */
function revalidated(request: RouteRequest, reply: RouteReply): RouteReply {
  if (!isFresh(request.headers, { etag: reply.headers.etag })) return reply;
  const { etag, vary, 'cache-control': cacheControl } = reply.headers;
  const headers: Record<string, string> = { 'cache-control': cacheControl ?? 'no-cache' };
  if (etag) headers.etag = etag;
  if (vary) headers.vary = vary;
  return { status: 304, headers, body: Buffer.alloc(0) };
}

/**
 * The script's route and its map's (when the build made one), as rows of the route table: what
 * `registerBrowserScript` (Fastify) and `browserScriptRouter` (Express) register. Throws
 * BrowserScriptMissingError when the script was never built.
 */
export function browserScriptRoutes(options: ServeBrowserScriptOptions = {}): Route[] {
  const path = options.path ?? DEFAULT_BROWSER_SCRIPT_PATH;
  const files = readBrowserScript();
  const serve = (url: string, choose: (request: RouteRequest) => RouteReply): Route => ({
    method: 'GET',
    path: url,
    signedIn: false,
    csrf: false,
    rateLimited: false,
    ownTransactions: false,
    handle: (request) => revalidated(request, choose(request)),
  });
  const scriptHeaders = browserScriptHeaders(options, 'script');
  const available = SCRIPT_ENCODINGS.filter((encoding) => files.encoded[encoding] !== undefined);
  let script: (request: RouteRequest) => RouteReply;
  if (available.length === 0) {
    const plain = fileReply(scriptHeaders, files.script);
    script = () => plain;
  } else {
    // Caches keep the answers apart by the header that chose between them.
    const vary = { ...scriptHeaders, vary: 'Accept-Encoding' };
    const identity = fileReply(vary, files.script);
    const replies = new Map<ScriptEncoding, RouteReply>();
    for (const encoding of available) {
      const body = files.encoded[encoding];
      if (body) replies.set(encoding, fileReply({ ...vary, 'content-encoding': encoding }, body));
    }
    script = (request) => {
      const encoding = chooseScriptEncoding(request.headers, available);
      return (encoding && replies.get(encoding)) ?? identity;
    };
  }
  const routes = [serve(path, script)];
  const { sourceMap } = files;
  if (sourceMap) {
    const reply = fileReply(browserScriptHeaders(options, 'map'), sourceMap);
    routes.push(serve(`${path}.map`, () => reply));
  }
  return routes;
}
