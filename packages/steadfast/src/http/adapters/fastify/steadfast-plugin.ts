/**
 * The Fastify plugin that mounts Steadfast's whole server side in one `register` call: cookies,
 * form bodies, database sessions, CSRF protection, rate limits, the error handler, the per-request
 * transaction middleware, and the sync, drafts, base, activity, health and metrics routes.
 *
 * Wrapped with fastify-plugin, so its decorations (`request.user`, `app.requireUser`,
 * `app.csrfProtection`, `app.persistence`, …) and hooks reach the app that registers it.
 *
 * @example
 * await app.register(steadfastPlugin, { database, persistence, sessionSecret: process.env.SESSION_SECRET })
 * app.post('/products', { preHandler: [app.requireUser, app.csrfProtection] }, handler)
 */
import fastifyCookie from '@fastify/cookie';
import fastifyCsrfProtection from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyRateLimit from '@fastify/rate-limit';
import type SqliteDatabase from 'better-sqlite3';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';
import type { Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import { type OpenedDatabase, parseDatabaseUrl } from '../../../db/open-database.js';
import type { Database } from '../../../db/schema.js';
import type { Persistence } from '../../../persistence/create-persistence.js';
import type { GroupCommitter } from '../../../persistence/group-commit.js';
import type { ActivityService } from '../../../sync/activity-service.js';
import { UnauthenticatedError } from '../../../sync/api-error.js';
import type { SteadfastMetrics } from '../../../sync/metrics.js';
import type { SignedInUser } from '../../../sync/signed-in-user.js';
import type { ClientMutationsRow, SyncService, SyncUnit } from '../../../sync/sync-service.js';
import type { Route } from '../../route-table.js';
import { KyselySessionStore } from '../../session-store.js';
import { parseSessionUser } from '../../session-user.js';
import { createSteadfastCore } from '../../steadfast-core.js';
import {
  parseSteadfastOptions,
  type ResolvedSteadfastOptions,
  type SteadfastOptions,
} from '../../steadfast-options.js';
import { fastifyErrorHandler } from './error-handler.js';
import { registerRoute } from './fastify-route.js';
import { registerSessions } from './session-plugin.js';
import { registerTransactionMiddleware } from './transaction-middleware.js';

/** The plugin's options: the one options interface both adapters share (see steadfast-options.ts). */
export type SteadfastPluginOptions = SteadfastOptions<FastifyRequest>;

/** Internals the routes share; `app.steadfast`. */
export interface SteadfastServices {
  readonly options: ResolvedSteadfastOptions<FastifyRequest>;
  readonly metrics: SteadfastMetrics;
  readonly committer: GroupCommitter<SyncUnit>;
  readonly syncService: SyncService;
  /**
   * The log as each user may see it (the options' `activity` and `limits`), what `/api/activity`
   * answers from: an app's own log pages use it to show the same (`app.steadfast.activity.viewer(user)`).
   */
  readonly activity: ActivityService;
  /** Steadfast's own sessions; absent when the app signs in its own way (`authenticate`). */
  readonly sessionStore: KyselySessionStore | undefined;
  /** Steadfast's routes on this app, as the options enable them: the rows of its route table. */
  readonly routes: ReadonlyArray<Route<FastifyRequest>>;
}

/** Rate-limit settings for a sign-in route: `config: { rateLimit: app.loginRateLimit }`. */
export interface LoginRateLimit {
  readonly max: number;
  readonly timeWindow: number;
  readonly keyGenerator: (request: FastifyRequest) => string;
}

type PreHandler = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;

declare module 'fastify' {
  interface FastifyInstance {
    persistence: Persistence;
    /** The `database` option, when the app gave one. */
    database: OpenedDatabase | undefined;
    /** prom-client Registry of Steadfast's metrics; add the app's own to it. */
    metrics: Registry;
    /** 401 JSON for API requests, 303 to /login for pages, when nobody is signed in. */
    requireUser: PreHandler;
    loginRateLimit: LoginRateLimit;
    steadfast: SteadfastServices;
  }
  interface FastifyRequest {
    /** The signed-in user (the app's `authenticate`, or Steadfast's session); null when nobody is. */
    user: SignedInUser | null;
  }
}

/** True for requests that want a JSON answer rather than a page. */
export function wantsJson(request: FastifyRequest): boolean {
  if (request.url.startsWith('/api/') || request.url === '/api') return true;
  const accept = request.headers.accept ?? '';
  return accept.includes('application/json') && !accept.includes('text/html');
}

async function steadfast(app: FastifyInstance, rawOptions: SteadfastPluginOptions): Promise<void> {
  const options = parseSteadfastOptions<FastifyRequest>(rawOptions, 'steadfastPlugin');
  const { persistence, database } = options;
  const reader = await openSqliteReader(database);
  const readClient = reader?.prepare<[string], ClientMutationsRow>(
    'select user_id, last_mutation_id from steadfast_sync_clients where client_id = ?',
  );
  const core = createSteadfastCore(options, {
    clientLookup: readClient && { read: (clientId) => readClient.get(clientId) },
  });
  // A listener that cannot start fails the registration.
  await core.metricsListener;
  const { metrics, committer, syncService, activity } = core;

  app.decorate('persistence', persistence);
  app.decorate('database', database);
  app.decorate('metrics', metrics.registry);
  app.decorateRequest('user', null);

  await app.register(fastifyCookie);
  await app.register(fastifyFormbody);

  // Before the session plugin on purpose: onSend hooks run in registration order, so the request's
  // transaction commits (freeing SQLite's one connection) before the session is saved.
  registerTransactionMiddleware(app, {
    persistence,
    onRollback: (reason) => metrics.rollbacks.inc({ reason }),
  });

  const sessions = options.ownSessions ? await registerOwnSessions(app, options, reader) : undefined;
  const sessionStore = sessions?.store;
  if (options.authenticate) {
    const authenticate = options.authenticate;
    // Every request: the app's own routes need their actor in the log as much as Steadfast's do.
    app.addHook('onRequest', async (request) => {
      request.user = await authenticate(request);
    });
  }

  await app.register(fastifyRateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) =>
      Object.assign(new Error(`Too many requests; retry in ${context.after}.`), {
        statusCode: context.statusCode,
        code: 'rate_limited',
      }),
  });

  app.setErrorHandler(fastifyErrorHandler);

  app.decorate('requireUser', function requireUser(request, reply, done) {
    if (request.user) {
      done();
      return;
    }
    // An answer about this request's (missing) session: a cache must not keep it for someone else.
    reply.header('cache-control', 'no-store');
    if (wantsJson(request)) {
      const error = new UnauthenticatedError();
      reply
        .code(error.status)
        .type('application/json; charset=utf-8')
        .send({ error: error.code, message: error.message });
      return;
    }
    reply.redirect(options.loginPath, 303);
  } satisfies PreHandler);

  app.decorate('loginRateLimit', {
    max: options.limits.loginPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request: FastifyRequest) => `login:${request.ip}`,
  });

  const { routes } = core;
  app.decorate('steadfast', { options, metrics, committer, syncService, activity, sessionStore, routes });

  // Callback style: an async hook would cost every request a promise.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.requestDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    done();
  });

  app.addHook('onClose', async () => {
    sessions?.stopSweeping();
    await core.close();
    reader?.close();
  });

  for (const route of routes) registerRoute(app, route);
}

/**
 * Steadfast's own sign-in: database sessions in a signed cookie, CSRF secrets kept in them, and the
 * User model registered for `createUser`. Needs the sessions migration (`migrateSteadfast(db, { sessions: true })`).
 */
async function registerOwnSessions(
  app: FastifyInstance,
  options: ResolvedSteadfastOptions<FastifyRequest>,
  reader: SqliteDatabase.Database | undefined,
): Promise<{ store: KyselySessionStore; stopSweeping: () => void }> {
  const { persistence } = options;
  const readSession = reader?.prepare<[string, number], { data: string }>(
    'select data from steadfast_sessions where sid = ? and expires_at > ?',
  );
  const sessionStore = new KyselySessionStore({
    executor: () => persistence.context.executor() as Kysely<Database>,
    lookup: readSession && {
      usable: () => !persistence.context.inTransaction(),
      read: (sid, now) => readSession.get(sid, now)?.data,
    },
    ttlMs: options.sessionTtlMs,
  });
  // Only sessions holding something (a CSRF secret, a user) are stored, and a session is written
  // only when its data changed: a write per request would be a second fsync next to each sync's.
  registerSessions(app, {
    secret: options.sessionSecret as string,
    cookieName: options.cookieName,
    store: sessionStore,
    ttlMs: options.sessionTtlMs,
    secure: options.secureCookies,
  });
  const stopSweeping = sessionStore.startSweeping(options.sweepIntervalMs, (error) =>
    app.log.warn({ err: error }, 'session sweep failed'),
  );

  app.addHook('onRequest', (request, _reply, done) => {
    request.user = parseSessionUser(request.session?.user);
    done();
  });

  // '@fastify/session' mode: the secret is read and written as `request.session._csrf`, which our
  // sessions provide.
  await app.register(fastifyCsrfProtection, { sessionPlugin: '@fastify/session' });
  return { store: sessionStore, stopSweeping };
}

/** A second, read-only connection to an SQLite file (WAL lets it read beside the writer); none for pg or :memory:. */
async function openSqliteReader(
  database: OpenedDatabase | undefined,
): Promise<SqliteDatabase.Database | undefined> {
  if (database?.dialect !== 'sqlite') return undefined;
  const { location } = parseDatabaseUrl(database.displayUrl);
  if (location === ':memory:') return undefined;
  const { default: SqliteDatabase } = await import('better-sqlite3');
  const file = new SqliteDatabase(location, { readonly: true, fileMustExist: true });
  file.pragma('busy_timeout = 5000');
  return file;
}

export const steadfastPlugin = fp(steadfast, { fastify: '5.x', name: 'steadfast' });
