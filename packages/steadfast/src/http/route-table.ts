/**
 * Steadfast's routes as one table, with no web framework in it: each row says its method and
 * path, what a request must have before its body is read (a signed-in user, the CSRF token, room
 * under the per-user rate limit), how large a JSON body it reads, and a handler that takes a
 * RouteRequest and answers a RouteReply. The Fastify plugin and the Express router register
 * exactly these rows and only translate requests and replies (the shape of tRPC's
 * `resolveResponse` and its adapters), so the two cannot answer differently.
 *
 * Errors are thrown, not answered: each adapter hands them to its framework's error path, which
 * maps them through `toApiError` (error-handler.ts) as it does the framework's own (a body too
 * large, a content type it cannot read).
 */
import type { Persistence } from '../persistence/create-persistence.js';
import { BASE_PATH, CSRF_HEADER, DRAFTS_PATH, SYNC_PATH } from '../protocol/constants.js';
import type { ActivityService } from '../sync/activity-service.js';
import { InvalidCsrfTokenError, UnauthenticatedError } from '../sync/api-error.js';
import { readDraftBase } from '../sync/base-service.js';
import { listDrafts } from '../sync/drafts-service.js';
import { checkHealth } from '../sync/health-service.js';
import type { SteadfastMetrics } from '../sync/metrics.js';
import { type SignedInUser, userKey } from '../sync/signed-in-user.js';
import type { RecordForKey, SyncService } from '../sync/sync-service.js';
import type { CsrfVerifier } from './csrf-verifier.js';
import { RETRY_AFTER_SECONDS, toApiError } from './error-handler.js';
import { hasMetricsToken, METRICS_PATH, metricsTokenRequired } from './metrics-access.js';
import type { ResolvedSteadfastOptions } from './steadfast-options.js';
import { announcedBodyBytes, SyncRateLimit } from './sync-rate-limit.js';

export { METRICS_PATH } from './metrics-access.js';
export const ACTIVITY_PATH = '/api/activity';
export const ACTIVITY_ENTRY_PATH = '/api/activity/:id';
export const HEALTH_PATH = '/health';

/** A request as a row's handler sees it; each adapter translates its framework's request into one. */
export interface RouteRequest<Raw = unknown> {
  /** Path parameters (`:id`). */
  readonly params: Readonly<Record<string, unknown>>;
  /** The query string as the framework parsed it; the services validate it. */
  readonly query: unknown;
  /** The parsed JSON body of a row that reads one; undefined before it is read. */
  readonly body: unknown;
  /** Header names in lower case, as Node gives them. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly ip: string | undefined;
  /** Logged with each change the request makes. */
  readonly requestId: string | undefined;
  /** The signed-in user (the app's `authenticate`, or Steadfast's session); null for nobody. */
  readonly user: SignedInUser | null;
  /** The CSRF secret of Steadfast's own session, when there is one. */
  readonly csrfSecret: string | undefined;
  /** The framework's own request, for the app's `authenticate` and `verifyCsrf`. */
  readonly raw: Raw;
}

/**
 * A row's answer. A string or a Buffer body is sent as it is, under the `content-type` its
 * headers name; anything else is sent as JSON.
 */
export interface RouteReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

export type RouteMethod = 'GET' | 'POST';

export interface Route<Raw = unknown> {
  readonly method: RouteMethod;
  /** The path pattern, `:name` for a parameter (both frameworks read it alike). */
  readonly path: string;
  /** 401 unless someone is signed in. */
  readonly signedIn: boolean;
  /** 403 unless the request carries the CSRF token (or the app's `verifyCsrf` accepts it). */
  readonly csrf: boolean;
  /** 429 past the per-user rate limit (`limits.syncPerMinute`). */
  readonly rateLimited: boolean;
  /**
   * The row reads a JSON body of at most this many bytes (413 past it; 415 for what
   * `jsonBodyRefusal` refuses, checked in `admit`); undefined: it reads none.
   */
  readonly jsonBodyLimit?: number;
  /**
   * The row writes in transactions of its own (the sync's group commit), which a host's
   * per-request transaction must not wrap: its answer comes only after its own commit.
   */
  readonly ownTransactions: boolean;
  /**
   * The checks above and the row's own quotas, run before the body is read, so that neither a
   * stranger nor an account over its quotas can make the server read a megabyte. Throws (or
   * rejects with, when the app's `verifyCsrf` is asynchronous) the refusal; undefined for a row
   * with nothing to check.
   */
  readonly admit?: (request: RouteRequest<Raw>) => void | Promise<void>;
  readonly handle: (request: RouteRequest<Raw>) => RouteReply | Promise<RouteReply>;
}

/** What the rows are built over: the adapters' one core (steadfast-core.ts). */
export interface RouteServices<Raw> {
  readonly options: ResolvedSteadfastOptions<Raw>;
  readonly persistence: Persistence;
  readonly syncService: SyncService;
  readonly activity: ActivityService;
  readonly metrics: SteadfastMetrics;
  readonly recordForKey: RecordForKey;
  readonly csrf: CsrfVerifier;
}

/** A user's own data, or an answer about this request: never kept by a cache. */
const NO_STORE: Readonly<Record<string, string>> = { 'cache-control': 'no-store' };

function noStore(body: unknown): RouteReply {
  return { status: 200, headers: NO_STORE, body };
}

/** The reply `toApiError` makes of `error`, with `headers` beside its own: for an answer that is a refusal. */
export function errorReply(error: unknown, headers: Readonly<Record<string, string>> = {}): RouteReply {
  const response = toApiError(error);
  return { status: response.status, headers: { ...response.headers, ...headers }, body: response.body };
}

/** A body this API does not read: not JSON, not UTF-8, or compressed (415). */
export class UnsupportedBodyError extends Error {
  override readonly name = 'UnsupportedBodyError';
  readonly code = 'unsupported_media_type';
  readonly status = 415;
}

const TOKEN = /^[!#$%&'*+.^`|~\w-]+$/;

/**
 * Why a JSON row refuses a request's body, before reading it; undefined when it reads it. Only
 * `application/json`, UTF-8 when a charset is named, and no content coding: what both frameworks'
 * JSON parsers read alike (Fastify's would read text/plain, and neither inflates nor decodes the
 * same way), so each adapter parses exactly the bodies the other does.
 */
export function jsonBodyRefusal(headers: RouteRequest['headers']): string | undefined {
  const type = headers['content-type'];
  const [media = '', ...parameters] = typeof type === 'string' ? type.split(';') : [];
  if (media.trim().toLowerCase() !== 'application/json') return 'Send the body as application/json.';
  for (const parameter of parameters) {
    const equals = parameter.indexOf('=');
    const name = parameter.slice(0, equals).trim().toLowerCase();
    const value = parameter.slice(equals + 1).trim();
    const unquoted = /^"[^"\\]*"$/.test(value) ? value.slice(1, -1) : value;
    if (equals < 0 || !TOKEN.test(name) || !(TOKEN.test(value) || unquoted !== value)) {
      return 'The Content-Type header is malformed.';
    }
    if (name === 'charset' && unquoted.toLowerCase() !== 'utf-8') return 'Send the body in UTF-8.';
  }
  const encoding = headers['content-encoding'];
  if (encoding !== undefined && String(encoding).trim().toLowerCase() !== 'identity') {
    return 'Send the body uncompressed (no Content-Encoding).';
  }
  return undefined;
}

/** The row's checks and quotas are met: `admit` let only signed-in users through. */
function signedInUser(request: RouteRequest<unknown>): SignedInUser {
  return request.user as SignedInUser;
}

interface RowSpec<Raw> {
  readonly method: RouteMethod;
  readonly path: string;
  readonly signedIn?: boolean;
  readonly csrf?: boolean;
  readonly rateLimit?: SyncRateLimit;
  readonly jsonBodyLimit?: number;
  readonly ownTransactions?: boolean;
  /** The row's own check before the body, after the common ones. */
  readonly beforeBody?: (request: RouteRequest<Raw>) => void;
  readonly handle: Route<Raw>['handle'];
}

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof (value as { then?: unknown } | null)?.then === 'function';

/** A row from its spec: the common checks composed, in the one order both adapters keep. */
function row<Raw>(
  spec: RowSpec<Raw>,
  checkCsrf: (request: RouteRequest<Raw>) => boolean | Promise<boolean>,
): Route<Raw> {
  const { rateLimit, beforeBody } = spec;
  const signedIn = spec.signedIn ?? false;
  const csrf = spec.csrf ?? false;
  const readsJson = spec.jsonBodyLimit !== undefined;
  const afterCsrf = (request: RouteRequest<Raw>) => {
    if (rateLimit) {
      const refusal = rateLimit.hit(userKey(signedInUser(request)));
      if (refusal) throw refusal.error;
    }
    beforeBody?.(request);
    if (readsJson) {
      const refusal = jsonBodyRefusal(request.headers);
      if (refusal) throw new UnsupportedBodyError(refusal);
    }
  };
  const admit =
    signedIn || csrf || rateLimit || beforeBody || readsJson
      ? (request: RouteRequest<Raw>): void | Promise<void> => {
          if (signedIn && !request.user) throw new UnauthenticatedError();
          if (csrf) {
            const valid = checkCsrf(request);
            if (isThenable(valid)) {
              // The app's own check may be asynchronous; Steadfast's sessions keep the synchronous path.
              return Promise.resolve(valid).then((ok) => {
                if (!ok) throw new InvalidCsrfTokenError();
                afterCsrf(request);
              });
            }
            if (!valid) throw new InvalidCsrfTokenError();
          }
          afterCsrf(request);
        }
      : undefined;
  return {
    method: spec.method,
    path: spec.path,
    signedIn,
    csrf,
    rateLimited: rateLimit !== undefined,
    ...(spec.jsonBodyLimit === undefined ? {} : { jsonBodyLimit: spec.jsonBodyLimit }),
    ownTransactions: spec.ownTransactions ?? false,
    ...(admit ? { admit } : {}),
    handle: spec.handle,
  };
}

/**
 * Steadfast's routes as the options enable them (`routes`, `metrics`): what both adapters
 * register, in this order.
 */
export function createRouteTable<Raw>(services: RouteServices<Raw>): Array<Route<Raw>> {
  const { options, persistence, syncService, activity, metrics, recordForKey, csrf } = services;
  const { verifyCsrf } = options;
  const checkCsrf = verifyCsrf
    ? (request: RouteRequest<Raw>) => verifyCsrf(request.raw)
    : (request: RouteRequest<Raw>) => csrf.verify(request.csrfSecret, request.headers[CSRF_HEADER]);
  const bodyLimit = options.limits.syncBodyBytes;
  const contentLength = (request: RouteRequest<Raw>) => {
    const header = request.headers['content-length'];
    return announcedBodyBytes(typeof header === 'string' ? header : undefined, bodyLimit);
  };
  const rows: Array<RowSpec<Raw>> = [];

  if (options.routes.sync) {
    rows.push({
      method: 'POST',
      path: SYNC_PATH,
      signedIn: true,
      csrf: true,
      rateLimit: new SyncRateLimit(options.limits.syncPerMinute),
      jsonBodyLimit: bodyLimit,
      ownTransactions: true,
      // The per-minute quotas that need no body, before it is read: an account over them costs
      // the server no parsing.
      beforeBody: (request) => syncService.admit(signedInUser(request), contentLength(request)),
      handle: (request) =>
        syncService
          .sync(signedInUser(request), request.body, {
            requestId: request.requestId,
            ip: request.ip,
            bodyCounted: contentLength(request) !== undefined,
          })
          .then(noStore),
    });
  }
  if (options.routes.drafts) {
    rows.push({
      method: 'GET',
      path: DRAFTS_PATH,
      signedIn: true,
      handle: async (request) => noStore(await listDrafts(persistence, signedInUser(request), request.query)),
    });
  }
  if (options.routes.base) {
    rows.push({
      method: 'GET',
      path: BASE_PATH,
      signedIn: true,
      // A user's record as it was and is: never kept by a cache, like the drafts it is read beside.
      handle: async (request) =>
        noStore(await readDraftBase(persistence, recordForKey, signedInUser(request), request.query)),
    });
  }
  if (options.routes.activity) {
    rows.push(
      {
        method: 'GET',
        path: ACTIVITY_PATH,
        signedIn: true,
        handle: async (request) => noStore(await activity.query(signedInUser(request), request.query)),
      },
      {
        method: 'GET',
        path: ACTIVITY_ENTRY_PATH,
        signedIn: true,
        handle: async (request) => noStore(await activity.entry(signedInUser(request), request.params.id)),
      },
    );
  }
  if (options.routes.health) {
    rows.push({
      method: 'GET',
      path: HEALTH_PATH,
      // 200 when the database answers and its migrations are current, else 503. Anyone may ask, so
      // the answer says which part is wrong, never why: the driver's message (hosts, user names) and
      // the pending migrations' names are for an operator's page (checkHealth).
      handle: async (): Promise<RouteReply> => {
        const { status, database, migrations } = await checkHealth(persistence.db, {
          sessions: options.ownSessions,
        });
        const body = { status, database, migrations };
        return status === 'ok'
          ? { status: 200, headers: NO_STORE, body }
          : { status: 503, headers: { ...NO_STORE, 'retry-after': String(RETRY_AFTER_SECONDS) }, body };
      },
    });
  }
  // Served on the app's own routes only behind its token; `metrics.listen` serves it elsewhere.
  const metricsOptions = options.metrics || undefined;
  const metricsToken = metricsOptions?.listen ? undefined : metricsOptions?.token;
  if (metricsToken !== undefined) {
    rows.push({
      method: 'GET',
      path: METRICS_PATH,
      handle: async (request) => {
        const authorization = request.headers.authorization;
        if (!hasMetricsToken(typeof authorization === 'string' ? authorization : undefined, metricsToken)) {
          return errorReply(metricsTokenRequired(), { 'www-authenticate': 'Bearer realm="metrics"' });
        }
        return {
          status: 200,
          headers: { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' },
          body: await metrics.registry.metrics(),
        };
      },
    });
  }
  return rows.map((spec) => row(spec, checkCsrf));
}
