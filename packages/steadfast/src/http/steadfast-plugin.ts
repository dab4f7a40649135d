/**
 * The Fastify plugin that mounts Steadfast's whole server side in one `register` call: cookies,
 * form bodies, database sessions, CSRF protection, rate limits, the error handler, the per-request
 * transaction middleware, and the sync, drafts, activity, health and metrics routes.
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
import SqliteDatabase from 'better-sqlite3';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  RouteShorthandOptions,
} from 'fastify';
import fp from 'fastify-plugin';
import type { Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { type OpenedDatabase, parseDatabaseUrl } from '../db/open-database.js';
import type { Database } from '../db/schema.js';
import type { Persistence } from '../persistence/create-persistence.js';
import type { GroupCommitter } from '../persistence/group-commit.js';
import { MAX_SYNC_BODY_BYTES } from '../protocol/constants.js';
import {
  type ClientMutationsRow,
  createMeteredSyncService,
  type RecordForKey,
  type SyncService,
  type SyncUnit,
} from '../sync/sync-service.js';
import { registerActivityRoute } from './activity-route.js';
import { UnauthenticatedError } from './api-error.js';
import { registerDraftsRoute } from './drafts-route.js';
import { fastifyErrorHandler } from './error-handler.js';
import { registerHealthRoute } from './health-route.js';
import { createMetrics, type SteadfastMetrics } from './metrics.js';
import { registerMetricsRoute } from './metrics-route.js';
import { SESSION_COOKIE_NAME } from './session-cookie-signer.js';
import { registerSessions } from './session-plugin.js';
import { KyselySessionStore } from './session-store.js';
import { parseSessionUser, type SessionUser } from './session-user.js';
import { registerSyncRoute } from './sync-route.js';
import { registerTransactionMiddleware } from './transaction-middleware.js';

const DAY_MS = 24 * 60 * 60 * 1000;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

const optionsSchema = z.object({
  database: z.custom<OpenedDatabase>(
    (v) => isObject(v) && isObject(v.db) && (v.dialect === 'sqlite' || v.dialect === 'postgres'),
    'database must be the object openDatabase() returns',
  ),
  persistence: z.custom<Persistence>(
    (v) => isObject(v) && typeof v.autoSave === 'function' && isObject(v.context),
    'persistence must be the object createPersistence() returns',
  ),
  sessionSecret: z
    .string({ error: 'sessionSecret must be a string' })
    .min(32, 'sessionSecret must be at least 32 characters'),
  secureCookies: z.union([z.boolean(), z.literal('auto')]).default('auto'),
  sessionTtlMs: z
    .number()
    .int()
    .positive()
    .default(7 * DAY_MS),
  cookieName: z
    .string()
    .regex(/^[\w.-]+$/)
    .default(SESSION_COOKIE_NAME),
  limits: z
    .object({
      syncBodyBytes: z.number().int().positive().default(MAX_SYNC_BODY_BYTES),
      syncPerMinute: z.number().int().positive().default(300),
      loginPerMinute: z.number().int().positive().default(10),
    })
    .prefault({}),
  routes: z
    .object({
      sync: z.boolean().default(true),
      drafts: z.boolean().default(true),
      activity: z.boolean().default(true),
      health: z.boolean().default(true),
      metrics: z.boolean().default(true),
    })
    .prefault({}),
  recordForKey: z
    .custom<RecordForKey>((v) => typeof v === 'function', 'recordForKey must be a function')
    .optional(),
  groupCommit: z.object({ maxBatch: z.number().int().positive().default(256) }).prefault({}),
  sweepIntervalMs: z
    .number()
    .int()
    .positive()
    .default(15 * 60 * 1000),
  defaultMetrics: z.boolean().default(true),
});

export type SteadfastPluginOptions = z.input<typeof optionsSchema>;
export type ResolvedSteadfastOptions = z.output<typeof optionsSchema>;

/** Thrown at registration for options that cannot work; names every problem. */
export class SteadfastOptionsError extends Error {
  readonly code = 'invalid_steadfast_options';
  override readonly name = 'SteadfastOptionsError';
}

export function parseSteadfastOptions(options: unknown): ResolvedSteadfastOptions {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${i.path.map(String).join('.') || 'options'}: ${i.message}`,
    );
    throw new SteadfastOptionsError(`steadfastPlugin options are invalid: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** Internals the routes share; `app.steadfast`. */
export interface SteadfastServices {
  readonly options: ResolvedSteadfastOptions;
  readonly metrics: SteadfastMetrics;
  readonly committer: GroupCommitter<SyncUnit>;
  readonly syncService: SyncService;
  readonly sessionStore: KyselySessionStore;
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
    database: OpenedDatabase;
    /** prom-client Registry of Steadfast's metrics; add the app's own to it. */
    metrics: Registry;
    /** 401 JSON for API requests, 303 to /login for pages, when nobody is signed in. */
    requireUser: PreHandler;
    loginRateLimit: LoginRateLimit;
    steadfast: SteadfastServices;
  }
  interface FastifyRequest {
    /** The signed-in user, from the session; null when nobody is. */
    user: SessionUser | null;
  }
}

/** True for requests that want a JSON answer rather than a page. */
export function wantsJson(request: FastifyRequest): boolean {
  if (request.url.startsWith('/api/') || request.url === '/api') return true;
  const accept = request.headers.accept ?? '';
  return accept.includes('application/json') && !accept.includes('text/html');
}

async function steadfast(app: FastifyInstance, rawOptions: SteadfastPluginOptions): Promise<void> {
  const options = parseSteadfastOptions(rawOptions);
  const { persistence, database } = options;
  const metrics = createMetrics({ defaultMetrics: options.defaultMetrics });

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

  const reader = openSqliteReader(database);
  const readSession = reader?.prepare<[string, number], { data: string }>(
    'select data from sessions where sid = ? and expires_at > ?',
  );
  const sessionStore = new KyselySessionStore({
    executor: () => persistence.executor() as Kysely<Database>,
    lookup: readSession && {
      usable: () => !persistence.context.inTransaction(),
      read: (sid, now) => readSession.get(sid, now)?.data,
    },
    ttlMs: options.sessionTtlMs,
  });
  // Only sessions holding something (a CSRF secret, a user) are stored, and a session is written
  // only when its data changed: a write per request would be a second fsync next to each sync's.
  registerSessions(app, {
    secret: options.sessionSecret,
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
    if (wantsJson(request)) {
      const error = new UnauthenticatedError();
      reply
        .code(error.status)
        .type('application/json; charset=utf-8')
        .send({ error: error.code, message: error.message });
      return;
    }
    reply.redirect('/login', 303);
  } satisfies PreHandler);

  app.decorate('loginRateLimit', {
    max: options.limits.loginPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request: FastifyRequest) => `login:${request.ip}`,
  });

  const readClient = reader?.prepare<[string], ClientMutationsRow>(
    'select user_id, last_mutation_id from client_mutations where client_id = ?',
  );
  const { committer, syncService } = createMeteredSyncService({
    persistence,
    dialect: database.dialect,
    metrics,
    recordForKey: options.recordForKey,
    maxBatch: options.groupCommit.maxBatch,
    clientLookup: readClient && { read: (clientId) => readClient.get(clientId) },
  });
  app.decorate('steadfast', { options, metrics, committer, syncService, sessionStore });

  // Callback style: an async hook would cost every request a promise.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.requestDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    done();
  });

  app.addHook('onClose', async () => {
    stopSweeping();
    await committer.idle();
    // Saves made outside a request's transaction (jobs, scripts sharing this app) commit first.
    await persistence.idle();
    reader?.close();
  });

  const routeOptions: RouteShorthandOptions = {};
  if (options.routes.sync) registerSyncRoute(app, options);
  if (options.routes.drafts) registerDraftsRoute(app, routeOptions);
  if (options.routes.activity) registerActivityRoute(app);
  if (options.routes.health) registerHealthRoute(app);
  if (options.routes.metrics) registerMetricsRoute(app);
}

/** A second, read-only connection to an SQLite file (WAL lets it read beside the writer); none for pg or :memory:. */
function openSqliteReader(database: OpenedDatabase): SqliteDatabase.Database | undefined {
  if (database.dialect !== 'sqlite') return undefined;
  const { location } = parseDatabaseUrl(database.displayUrl);
  if (location === ':memory:') return undefined;
  const file = new SqliteDatabase(location, { readonly: true, fileMustExist: true });
  file.pragma('busy_timeout = 5000');
  return file;
}

export const steadfastPlugin = fp(steadfast, { fastify: '5.x', name: 'steadfast' });
