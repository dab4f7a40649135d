/**
 * The same API for Express apps: `createExpressRouter` serves sync, drafts, base, activity, health and
 * metrics over the same framework-free services as the Fastify plugin. Sessions are the plugin's:
 * the signed session cookie is checked with the same secret against the same `sessions` table, and
 * the CSRF token against the session's secret, so a user signed in through a Fastify app (or any
 * process sharing the database) is signed in here too. Pass `authenticate` to use your own.
 *
 * @example
 * app.use(createExpressRouter({ database, persistence, sessionSecret: process.env.SESSION_SECRET }))
 */
import { parseCookie } from 'cookie';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import type { Database } from '../db/schema.js';
import { userModel } from '../persistence/user-model.js';
import { BASE_PATH, CSRF_HEADER, DRAFTS_PATH, SYNC_PATH } from '../protocol/constants.js';
import { createActivityService } from '../sync/activity-service.js';
import { InvalidCsrfTokenError, UnauthenticatedError } from '../sync/api-error.js';
import { readDraftBase } from '../sync/base-service.js';
import { listDrafts } from '../sync/drafts-service.js';
import { checkHealth } from '../sync/health-service.js';
import { createMetrics } from '../sync/metrics.js';
import { type SignedInUser, userKey } from '../sync/signed-in-user.js';
import { createMeteredSyncService, recordForKeyOfModels } from '../sync/sync-service.js';
import { ACTIVITY_ENTRY_PATH, ACTIVITY_PATH } from './activity-route.js';
import { CsrfVerifier } from './csrf-verifier.js';
import { toApiError } from './error-handler.js';
import { HEALTH_PATH } from './health-route.js';
import {
  hasMetricsToken,
  METRICS_PATH,
  metricsTokenRequired,
  startMetricsListener,
} from './metrics-access.js';
import { SessionCookieSigner } from './session-cookie-signer.js';
import { KyselySessionStore } from './session-store.js';
import { parseSessionUser } from './session-user.js';
import { parseSteadfastOptions, type SteadfastOptions } from './steadfast-options.js';
import { announcedBodyBytes, SyncRateLimit } from './sync-rate-limit.js';

/** The router's options: the one options interface both adapters share (see steadfast-options.ts). */
export type ExpressRouterOptions = SteadfastOptions<Request>;

export type SteadfastExpressRouter = Router & {
  readonly metrics: Registry;
  /**
   * Waits for sync requests in flight and saves outside requests to commit, and closes the metrics
   * listener (`metrics.listen`); call before closing the database.
   */
  close(): Promise<void>;
};

interface Authenticated {
  readonly user: SignedInUser;
  readonly csrfSecret?: string;
}

const authKey = Symbol('steadfast.auth');
type WithAuth = Request & { [authKey]?: Authenticated };

/**
 * @example
 * app.use(createExpressRouter({ persistence, authenticate: (req) => userFromMyCookie(req), verifyCsrf: (req) => checkMyToken(req) }))
 */
export function createExpressRouter(rawOptions: ExpressRouterOptions): SteadfastExpressRouter {
  const options = parseSteadfastOptions<Request>(rawOptions, 'createExpressRouter');
  const { persistence, routes } = options;
  if (options.ownSessions && !persistence.registry.has(userModel.name))
    persistence.registry.register(userModel);
  const cookieName = options.cookieName;
  const signer =
    options.sessionSecret === undefined ? undefined : new SessionCookieSigner(options.sessionSecret);
  const csrf = new CsrfVerifier();
  const store = new KyselySessionStore({ executor: () => persistence.db as Kysely<Database>, ttlMs: 0 });
  const metrics = createMetrics({ defaultMetrics: false });
  const rateLimit = new SyncRateLimit(options.limits.syncPerMinute);
  const bodyLimit = options.limits.syncBodyBytes;
  const activity = createActivityService(persistence, {
    visibility: options.activity,
    bounds: { entryBytes: options.limits.activityEntryBytes, pageBytes: options.limits.activityPageBytes },
  });
  // Started at once (a router has no start hook); `close()` stops it.
  const metricsOptions = options.metrics || undefined;
  const metricsListener = metricsOptions?.listen
    ? startMetricsListener(metrics.registry, metricsOptions.listen, metricsOptions.token)
    : undefined;
  metricsListener?.catch((error: unknown) =>
    process.emitWarning(`steadfast: the metrics listener did not start: ${String(error)}`),
  );
  const { committer, syncService } = createMeteredSyncService({
    persistence,
    dialect: persistence.dialect,
    metrics,
    recordForKey: options.recordForKey,
    maxBatch: options.groupCommit.maxBatch,
    limits: options.limits,
  });

  const loadSession = (sid: string) =>
    new Promise<Record<string, unknown> | null>((resolve, reject) =>
      store.get(sid, (error, session) =>
        error ? reject(error) : resolve((session as Record<string, unknown> | null | undefined) ?? null),
      ),
    );

  async function authenticate(request: Request): Promise<Authenticated | null> {
    if (options.authenticate) {
      const user = await options.authenticate(request);
      return user ? { user } : null;
    }
    const raw = parseCookie(request.headers.cookie ?? '')[cookieName];
    if (!raw || !signer) return null;
    const sid = signer.unsign(raw);
    if (!sid) return null;
    const session = await loadSession(sid);
    const user = parseSessionUser(session?.user);
    if (!user) return null;
    const csrfSecret = typeof session?._csrf === 'string' ? session._csrf : undefined;
    return { user, csrfSecret };
  }

  const requireUser = async (request: Request, _response: Response, next: NextFunction) => {
    const auth = await authenticate(request);
    if (!auth) throw new UnauthenticatedError();
    (request as WithAuth)[authKey] = auth;
    next();
  };

  const requireCsrf = async (request: Request, _response: Response, next: NextFunction) => {
    const auth = (request as WithAuth)[authKey];
    let valid: boolean;
    if (options.verifyCsrf) valid = await options.verifyCsrf(request);
    else {
      const token = request.get(CSRF_HEADER);
      valid = csrf.verify(auth?.csrfSecret, token);
    }
    if (!valid) throw new InvalidCsrfTokenError();
    next();
  };

  const userOf = (request: Request): SignedInUser => {
    const auth = (request as WithAuth)[authKey];
    if (!auth) throw new UnauthenticatedError();
    return auth.user;
  };

  const router = express.Router() as SteadfastExpressRouter;
  Object.defineProperty(router, 'metrics', { value: metrics.registry });
  Object.defineProperty(router, 'close', {
    value: async () => {
      await committer.idle();
      await persistence.idle();
      await (await metricsListener?.catch(() => undefined))?.close();
    },
  });

  router.use((request, response, next) => {
    const started = process.hrtime.bigint();
    response.on('finish', () => {
      const route = (request.route as { path?: string } | undefined)?.path ?? 'unmatched';
      metrics.requests.inc({ method: request.method, route, status: String(response.statusCode) });
      metrics.requestDuration.observe(
        { method: request.method, route },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
    });
    next();
  });

  if (routes.sync) {
    router.post(
      SYNC_PATH,
      requireUser,
      requireCsrf,
      (request, response, next) => {
        const refusal = rateLimit.hit(userKey(userOf(request)));
        if (refusal) {
          response.set('retry-after', String(refusal.retryAfterSeconds));
          throw refusal.error;
        }
        if (!request.is('application/json')) {
          throw Object.assign(new Error('Send the body as application/json.'), { status: 415 });
        }
        // The per-minute quotas that need no body, before it is read.
        syncService.admit(userOf(request), announcedBodyBytes(request.get('content-length'), bodyLimit));
        next();
      },
      express.json({ limit: bodyLimit, strict: false }),
      async (request, response) => {
        const result = await syncService.sync(userOf(request), request.body, {
          requestId: request.get('x-request-id') ?? undefined,
          ip: request.ip,
          bodyCounted: announcedBodyBytes(request.get('content-length'), bodyLimit) !== undefined,
        });
        response.set('cache-control', 'no-store').json(result);
      },
    );
  }
  if (routes.drafts) {
    router.get(DRAFTS_PATH, requireUser, async (request, response) => {
      const drafts = await listDrafts(persistence, userOf(request), request.query);
      response.set('cache-control', 'no-store').json(drafts);
    });
  }
  if (routes.base) {
    const recordForKey = options.recordForKey ?? recordForKeyOfModels(persistence.registry);
    router.get(BASE_PATH, requireUser, async (request, response) => {
      const base = await readDraftBase(persistence, recordForKey, userOf(request), request.query);
      response.set('cache-control', 'no-store').json(base);
    });
  }
  if (routes.activity) {
    router.get(ACTIVITY_PATH, requireUser, async (request, response) => {
      const page = await activity.query(userOf(request), request.query);
      response.set('cache-control', 'no-store').json(page);
    });
    router.get(ACTIVITY_ENTRY_PATH, requireUser, async (request, response) => {
      const entry = await activity.entry(userOf(request), request.params.id);
      response.set('cache-control', 'no-store').json(entry);
    });
  }
  if (routes.health) {
    router.get(HEALTH_PATH, async (_request, response) => {
      const report = await checkHealth(persistence.db, { sessions: options.ownSessions });
      if (report.status !== 'ok') response.status(503).set('retry-after', '5');
      response.json(report);
    });
  }
  const metricsToken = metricsOptions?.listen ? undefined : metricsOptions?.token;
  if (metricsToken !== undefined) {
    router.get(METRICS_PATH, async (request, response) => {
      if (!hasMetricsToken(request.get('authorization'), metricsToken)) {
        response.set('www-authenticate', 'Bearer realm="metrics"');
        throw metricsTokenRequired();
      }
      response
        .type(metrics.registry.contentType)
        .set('cache-control', 'no-store')
        .send(await metrics.registry.metrics());
    });
  }

  // Express 5 hands rejected async handlers here; body-parser errors carry `status` and `type`.
  router.use((error: unknown, _request: Request, response: Response, next: NextFunction) => {
    if (response.headersSent) {
      next(error);
      return;
    }
    const { status, body, headers } = toApiError(error);
    response.status(status).set(headers).json(body);
  });
  return router;
}
