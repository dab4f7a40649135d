/**
 * The one options object both adapters take (`steadfastPlugin` for Fastify, `createExpressRouter`
 * for Express), validated once at start with every default written here, so the two cannot drift.
 * `Request` is the framework's request type.
 */
import { z } from 'zod';
import type { OpenedDatabase } from '../db/open-database.js';
import { DEFAULT_ACTIVITY_BOUNDS } from '../persistence/activity-bounds.js';
import { isPrivateRecordsPattern } from '../persistence/activity-visibility.js';
import type { Persistence } from '../persistence/create-persistence.js';
import { MAX_SYNC_BODY_BYTES } from '../protocol/constants.js';
import type { ActivityVisibility } from '../sync/activity-service.js';
import { DEFAULT_DRAFT_LIMITS } from '../sync/draft-limits.js';
import type { SignedInUser } from '../sync/signed-in-user.js';
import type { RecordForKey } from '../sync/sync-service.js';
import { SESSION_COOKIE_NAME } from './session-cookie-signer.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The app's own sign-in: who the request is, or null for nobody. */
export type Authenticate<Request> = (request: Request) => SignedInUser | null | Promise<SignedInUser | null>;
/** The app's own CSRF check for Steadfast's state-changing route (the sync POST). */
export type VerifyCsrf<Request> = (request: Request) => boolean | Promise<boolean>;

export interface SteadfastOptions<Request> {
  /** The object `createPersistence({ db })` returned, over the app's own Kysely instance. Required. */
  readonly persistence: Persistence;
  /**
   * The object `openDatabase(url)` returned, when the app opened its database that way. Optional:
   * on an SQLite file it lets sessions and sync clients be read on a second, read-only connection.
   */
  readonly database?: OpenedDatabase;
  /**
   * The app's own sign-in (its sessions, a JWT, a signed cookie): the user, or null. When given,
   * Steadfast's own sessions are not used and `verifyCsrf` is required. Default: Steadfast's own
   * database sessions (`sessionSecret`, `signIn`, `createUser`).
   */
  readonly authenticate?: Authenticate<Request>;
  /** Required with `authenticate`: true when the request carries the app's valid CSRF token (`() => true` for bearer tokens, which browsers never send on their own). */
  readonly verifyCsrf?: VerifyCsrf<Request>;
  /** Signs Steadfast's session cookie; at least 32 characters. Required unless `authenticate` is given. */
  readonly sessionSecret?: string;
  /** Secure flag of the session cookie: `'auto'` (default) sets it on https requests only. */
  readonly secureCookies?: boolean | 'auto';
  /** How long a session lives, in ms (default 7 days). */
  readonly sessionTtlMs?: number;
  /** The session cookie's name (default `sid`). */
  readonly cookieName?: string;
  /**
   * Where Fastify's `app.requireUser` sends a signed-out request for a page (default `/login`): a
   * path on this site, never another site's address.
   */
  readonly loginPath?: string;
  /**
   * What one user (or address) may ask of the server. Each refusal answers before anything is
   * written, with `{error, message, limit, max}` naming the limit: 413 for what is too large to
   * keep, 429 with `Retry-After` for too much too often. The defaults are far above what a
   * form-heavy app sends.
   */
  readonly limits?: {
    /** Largest sync body, in bytes (default 1 MiB). */
    readonly syncBodyBytes?: number;
    /** Sync requests a minute per user before 429 (default 300). */
    readonly syncPerMinute?: number;
    /** Sync changes a minute per user before 429 (default 1200): a steady rate, in bursts of up to a sixth of it. */
    readonly changesPerMinute?: number;
    /** Bytes of sync request bodies a minute per user before 429, counted before the body is read (default 8 MiB; bursts of a sixth). */
    readonly syncBytesPerMinute?: number;
    /** Largest draft or state, in bytes of its JSON, before 413 (default 256 KiB). */
    readonly draftBytes?: number;
    /** Most object keys in one draft or state, at every depth, before 413 (default 2000). */
    readonly draftKeys?: number;
    /** Most drafts and states a user keeps on the server before 413 `quota_exceeded` (default 500). */
    readonly draftsPerUser?: number;
    /** Most bytes of drafts and states a user keeps on the server before 413 `quota_exceeded` (default 8 MiB). */
    readonly draftBytesPerUser?: number;
    /** Sign-in attempts a minute per address before 429, for `loginRateLimit` (default 10). */
    readonly loginPerMinute?: number;
    /**
     * Most bytes of one entry in a log page (default 16 KiB): larger values are replaced by
     * `{ $truncated: true, bytes, preview }`, the entry marked `truncated`; `GET /api/activity/:id`
     * gives it whole.
     */
    readonly activityEntryBytes?: number;
    /** Most bytes of a log page's entries (default 256 KiB); the page ends early, with its cursor. */
    readonly activityPageBytes?: number;
  };
  /** What of the log each user sees (see ActivityVisibility). Default: own entries in full, others' without IP and request id, drafts private. */
  readonly activity?: ActivityVisibility;
  /**
   * `GET /metrics` (Prometheus text): off by default, since it tells anyone the process's
   * internals. `{ token }` serves it to requests with `Authorization: Bearer <token>` (Prometheus:
   * `authorization: { credentials: <token> }` in the scrape config); `{ listen: { port, host } }`
   * serves it on a listener of its own (host default 127.0.0.1), never on the app's; both together
   * check the token there.
   */
  readonly metrics?:
    | false
    | {
        readonly token?: string;
        readonly listen?: { readonly port: number; readonly host?: string };
      };
  /** Which of Steadfast's routes to mount (all by default; `/metrics` is the `metrics` option's). */
  readonly routes?: {
    readonly sync?: boolean;
    readonly drafts?: boolean;
    /** `GET /api/autosave/base/`: a stale draft's base version and the current record, for its merge. */
    readonly base?: boolean;
    readonly activity?: boolean;
    readonly health?: boolean;
  };
  /**
   * Which record a draft's key names, for `stale` answers and the base route. Default: `<model>-<id>` for every
   * registered model (`invoice-7` → Invoice 7, the model's name lowercased).
   */
  readonly recordForKey?: RecordForKey;
  /** Most sync requests applied in one group commit (default 256). */
  readonly groupCommit?: { readonly maxBatch?: number };
  /** How often expired sessions are deleted, in ms (default 15 minutes). */
  readonly sweepIntervalMs?: number;
  /** Also collect Node's default metrics (CPU, heap, event loop) in `/metrics` (default true). */
  readonly defaultMetrics?: boolean;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;
const isFunction = (value: unknown) => typeof value === 'function';

const optionsSchema = z
  .object({
    persistence: z.custom<Persistence>(
      (v) => isObject(v) && typeof v.autoSave === 'function' && isObject(v.context) && isObject(v.db),
      'persistence must be the object createPersistence() returns',
    ),
    database: z
      .custom<OpenedDatabase>(
        (v) => isObject(v) && isObject(v.db) && (v.dialect === 'sqlite' || v.dialect === 'postgres'),
        'database must be the object openDatabase() returns',
      )
      .optional(),
    authenticate: z.custom<Authenticate<unknown>>(isFunction, 'authenticate must be a function').optional(),
    verifyCsrf: z.custom<VerifyCsrf<unknown>>(isFunction, 'verifyCsrf must be a function').optional(),
    sessionSecret: z
      .string({ error: 'sessionSecret must be a string' })
      .min(32, 'sessionSecret must be at least 32 characters')
      .optional(),
    secureCookies: z.union([z.boolean(), z.literal('auto')]).default('auto'),
    sessionTtlMs: z
      .number()
      .int()
      .positive()
      .default(7 * DAY_MS),
    loginPath: z
      .string()
      // A path on this site: `//host` and `/\\host` would send the browser to another one.
      .regex(/^\/(?![/\\])[^\s]*$/, 'loginPath must be a path on this site, like /login')
      .default('/login'),
    cookieName: z
      .string()
      .regex(/^[\w.-]+$/)
      .default(SESSION_COOKIE_NAME),
    limits: z
      .object({
        syncBodyBytes: z.number().int().positive().default(MAX_SYNC_BODY_BYTES),
        syncPerMinute: z.number().int().positive().default(300),
        changesPerMinute: z.number().int().positive().default(DEFAULT_DRAFT_LIMITS.changesPerMinute),
        syncBytesPerMinute: z.number().int().positive().default(DEFAULT_DRAFT_LIMITS.syncBytesPerMinute),
        draftBytes: z.number().int().positive().default(DEFAULT_DRAFT_LIMITS.draftBytes),
        draftKeys: z.number().int().positive().default(DEFAULT_DRAFT_LIMITS.draftKeys),
        draftsPerUser: z.number().int().positive().default(DEFAULT_DRAFT_LIMITS.draftsPerUser),
        draftBytesPerUser: z.number().int().positive().default(DEFAULT_DRAFT_LIMITS.draftBytesPerUser),
        loginPerMinute: z.number().int().positive().default(10),
        activityEntryBytes: z.number().int().min(1024).default(DEFAULT_ACTIVITY_BOUNDS.entryBytes),
        activityPageBytes: z.number().int().min(1024).default(DEFAULT_ACTIVITY_BOUNDS.pageBytes),
      })
      .prefault({})
      .refine((limits) => limits.draftBytes <= limits.draftBytesPerUser, {
        path: ['draftBytes'],
        message: 'must not exceed limits.draftBytesPerUser (no draft that large could ever be kept)',
      }),
    routes: z
      .object({
        sync: z.boolean().default(true),
        drafts: z.boolean().default(true),
        base: z.boolean().default(true),
        activity: z.boolean().default(true),
        health: z.boolean().default(true),
      })
      .prefault({}),
    activity: z
      .object({
        privateRecords: z
          .array(
            z.object({
              model: z.string().min(1),
              objectId: z
                .string()
                .refine(
                  isPrivateRecordsPattern,
                  'must hold {userId} once, followed by at least one character (e.g. "user.{userId}.")',
                ),
            }),
          )
          .optional(),
        canSeeDetails: z
          .custom<NonNullable<ActivityVisibility['canSeeDetails']>>(
            isFunction,
            'canSeeDetails must be a function',
          )
          .optional(),
        seesAllDetails: z
          .custom<NonNullable<ActivityVisibility['seesAllDetails']>>(
            isFunction,
            'seesAllDetails must be a function',
          )
          .optional(),
      })
      .prefault({}),
    metrics: z
      .union([
        z.literal(false),
        z
          .object({
            token: z.string().min(16, 'must be at least 16 characters').optional(),
            listen: z
              .object({
                port: z.number().int().min(0).max(65_535),
                host: z.string().min(1).default('127.0.0.1'),
              })
              .optional(),
          })
          .refine((metrics) => metrics.token !== undefined || metrics.listen !== undefined, {
            message: 'give a token, a listener (listen: { port }), or false',
          }),
      ])
      .default(false),
    recordForKey: z.custom<RecordForKey>(isFunction, 'recordForKey must be a function').optional(),
    groupCommit: z.object({ maxBatch: z.number().int().positive().default(256) }).prefault({}),
    sweepIntervalMs: z
      .number()
      .int()
      .positive()
      .default(15 * 60 * 1000),
    defaultMetrics: z.boolean().default(true),
  })
  .superRefine((options, context) => {
    if (options.authenticate && !options.verifyCsrf) {
      context.addIssue({
        code: 'custom',
        path: ['verifyCsrf'],
        message:
          'is required with authenticate (the app checks its own CSRF token; () => true for bearer tokens)',
      });
    }
    if (!options.authenticate && options.sessionSecret === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['sessionSecret'],
        message: "is required for Steadfast's own sessions (or give authenticate and verifyCsrf)",
      });
    }
  });

export type ResolvedSteadfastOptions<Request = unknown> = Omit<
  z.output<typeof optionsSchema>,
  'authenticate' | 'verifyCsrf'
> & {
  readonly authenticate?: Authenticate<Request>;
  readonly verifyCsrf?: VerifyCsrf<Request>;
  /** True when Steadfast's own sessions are used (no `authenticate`). */
  readonly ownSessions: boolean;
};

/** Thrown at start for options that cannot work; names every problem. */
export class SteadfastOptionsError extends Error {
  readonly code = 'invalid_steadfast_options';
  override readonly name = 'SteadfastOptionsError';
}

export function parseSteadfastOptions<Request>(
  options: unknown,
  adapter = 'steadfast',
): ResolvedSteadfastOptions<Request> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${i.path.map(String).join('.') || 'options'}: ${i.message}`,
    );
    throw new SteadfastOptionsError(`${adapter} options are invalid: ${problems.join('; ')}`);
  }
  return { ...parsed.data, ownSessions: !parsed.data.authenticate } as ResolvedSteadfastOptions<Request>;
}
