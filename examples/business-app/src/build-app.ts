/**
 * `buildApp(options)`: the business app as a Fastify instance over an already opened database.
 * It opens nothing and listens nowhere, so tests build it over their own database and `inject`.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import fastifyView from '@fastify/view';
import { Eta } from 'eta';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import {
  browserScriptDirectory,
  fastifyErrorHandler,
  type SteadfastPluginOptions,
  steadfastPlugin,
} from 'steadfast/fastify';
import type { OpenedDatabase, Persistence } from 'steadfast/persistence';
import { createAppPersistence } from './app-database.js';
import type { TrustProxy } from './config.js';
import { pageErrorHandler } from './page-errors.js';
import { authorizeByRole, permissionsOf } from './roles.js';
import { registerActivityRoutes } from './routes/activity-routes.js';
import { registerLoginRoutes } from './routes/login-routes.js';
import { registerProductRoutes } from './routes/product-routes.js';
import type { RouteDependencies } from './routes/route-dependencies.js';
import { registerSettingsRoutes } from './routes/settings-routes.js';
import { registerStatusRoutes } from './routes/status-routes.js';
import { viewHelpers } from './view-helpers.js';

const appDirectory = dirname(fileURLToPath(import.meta.url));
export const VIEWS_DIRECTORY = resolve(appDirectory, '..', 'views');
export const PUBLIC_DIRECTORY = resolve(appDirectory, '..', 'public');

export interface BuildAppOptions {
  readonly database: OpenedDatabase;
  /** Signs session cookies; at least 32 characters. */
  readonly sessionSecret: string;
  /** Caches compiled templates and sends HSTS. */
  readonly production?: boolean;
  /** Passed to the session cookie; 'auto' sets Secure only on https requests. */
  readonly secureCookies?: boolean | 'auto';
  /** The login page names the demo account (development only). */
  readonly showDemoLogin?: boolean;
  readonly logger?: FastifyServerOptions['logger'];
  /**
   * A request (headers and body) not fully received within this many ms is answered 408 and its
   * connection closed. Without it a client sending its body a byte at a time holds a socket
   * forever (slow loris). Default 30 s.
   */
  readonly requestTimeoutMs?: number;
  /**
   * Per minute: sync requests, changes and draft bytes per user, sign-in attempts per address
   * (defaults 300, 1200, 8 MiB and 10).
   */
  readonly rateLimits?: {
    readonly syncPerMinute?: number;
    readonly loginPerMinute?: number;
    readonly changesPerMinute?: number;
    readonly syncBytesPerMinute?: number;
  };
  /** The library's other limits (draft sizes and quotas, log page bounds), for tests and the bench. */
  readonly limits?: SteadfastPluginOptions['limits'];
  /**
   * Which proxies' X-Forwarded-For to believe for the client's address (logged with every change,
   * counted by the sign-in limit): none (default), a hop count, or addresses and CIDR ranges.
   */
  readonly trustProxy?: TrustProxy;
  /** Serves /metrics to `Authorization: Bearer <token>`; without it /metrics is off. */
  readonly metricsToken?: string;
}

/**
 * The demo's private records: each user's preferences (`user.<id>.<name>` settings) are shown in
 * the log to that user alone, as drafts are.
 */
export const ACTIVITY_VISIBILITY = {
  privateRecords: [{ model: 'Setting', objectId: 'user.{userId}.' }],
} as const;

/**
 * A path the router cannot decode (a malformed percent-encoding) is rewritten to this one, which
 * no route serves: its 400 then comes from the not-found handler, after the hooks (the security
 * headers) and through the one error handler like any other answer. Fastify would otherwise answer
 * it itself, before any hook.
 */
const BAD_URL_PATH = '/__bad-url';

/**
 * Fastify's `trustProxy` for ours. A hop count is given as a function: Fastify ignores a bare
 * number (it cannot tell the proxy from a client connecting directly with a forged header), so a
 * count is only safe when nothing but the proxies can reach the app; addresses are checked.
 */
function trustProxyOption(trustProxy: TrustProxy): FastifyServerOptions['trustProxy'] {
  if (trustProxy === false) return false;
  if (typeof trustProxy === 'number') return (_address: string, hop: number) => hop < trustProxy;
  return [...trustProxy];
}

function hasMalformedPath(url: string): boolean {
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  if (!path.includes('%')) return false;
  try {
    decodeURIComponent(path);
    return false;
  } catch {
    return true;
  }
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface BuiltApp {
  readonly app: FastifyInstance;
  readonly persistence: Persistence;
}

export async function buildApp(options: BuildAppOptions): Promise<BuiltApp> {
  const production = options.production ?? false;
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const app = Fastify({
    logger: options.logger ?? false,
    // Off unless configured: trusting every X-Forwarded-For would let any client choose the
    // address the log records and the sign-in limit counts.
    trustProxy: trustProxyOption(options.trustProxy ?? false),
    rewriteUrl: (request) =>
      request.url !== undefined && hasMalformedPath(request.url) ? BAD_URL_PATH : (request.url ?? '/'),
    requestTimeout,
    // Node 20 enforces the request timeout only when it is given to http.createServer (Fastify
    // sets it on the server afterwards, which Node's connection checker ignores), and checks on
    // this interval (30 s by default): both here, so the timeout holds within a second.
    http: { requestTimeout, connectionsCheckingInterval: 1000 },
  });
  const persistence: Persistence = createAppPersistence({
    db: options.database.db,
    logger: { info: (message) => app.log.info(message) },
    onCommitError: (error) => app.log.error({ err: error }, 'after-commit callback failed'),
    // Every write and every read of the log is asked of the user's role (roles.ts).
    authorize: (request) => authorizeByRole(persistence, request),
  });

  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        // Scripts come only from this origin (the auto-save bundle); inline scripts and inline
        // event handlers stay blocked.
        'script-src': ["'self'"],
        'form-action': ["'self'"],
        // Over plain http on a LAN address this would send every asset to https and break it.
        'upgrade-insecure-requests': production ? [] : null,
      },
    },
    hsts: production,
  });

  await app.register(fastifyView, {
    engine: { eta: new Eta({ autoEscape: true }) },
    root: VIEWS_DIRECTORY,
    production,
    defaultContext: { helpers: viewHelpers },
  });

  await app.register(fastifyStatic, {
    // The stylesheet and icon, then the library's prebuilt browser service: one URL prefix for
    // both. browserScriptDirectory() throws, naming the fix, when the library was never built.
    root: [PUBLIC_DIRECTORY, browserScriptDirectory()],
    prefix: '/assets/',
    index: false,
    maxAge: production ? '1h' : 0,
  });

  await app.register(steadfastPlugin, {
    database: options.database,
    persistence,
    sessionSecret: options.sessionSecret,
    secureCookies: options.secureCookies ?? 'auto',
    limits: { ...options.limits, ...options.rateLimits },
    activity: {
      ...ACTIVITY_VISIBILITY,
      // Administrators see everyone's IP addresses and request ids (the role as stored now).
      seesAllDetails: async (user) => (await permissionsOf(persistence, Number(user.id))).operatorDetail,
    },
    metrics: options.metricsToken === undefined ? false : { token: options.metricsToken },
  });

  const dependencies: RouteDependencies = {
    database: options.database,
    persistence,
    showDemoLogin: options.showDemoLogin ?? false,
  };
  // The pages in a scope of their own, whose errors are answered as pages (page-errors.ts); the
  // API routes of the Steadfast plugin keep its JSON error handler.
  const answerPageError = pageErrorHandler(persistence);
  await app.register(async (pages) => {
    pages.setErrorHandler(answerPageError);
    registerLoginRoutes(pages, dependencies);
    registerProductRoutes(pages, dependencies);
    registerSettingsRoutes(pages, dependencies);
    registerActivityRoutes(pages, dependencies);
    registerStatusRoutes(pages, dependencies);
  });
  app.setNotFoundHandler((request, reply) => {
    if (request.url === BAD_URL_PATH) {
      const badUrl = Object.assign(
        new Error('The address is not a valid URL (a malformed percent-encoding).'),
        {
          statusCode: 400,
        },
      );
      return (request.originalUrl.startsWith('/api/') ? fastifyErrorHandler : answerPageError)(
        badUrl,
        request,
        reply,
      );
    }
    const notFound = Object.assign(
      new Error(`${request.method} ${request.url} is not a page or route here`),
      {
        statusCode: 404,
      },
    );
    if (request.url.startsWith('/api/')) return fastifyErrorHandler(notFound, request, reply);
    return answerPageError(notFound, request, reply);
  });

  await app.ready();
  return { app, persistence };
}
