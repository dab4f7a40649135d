/**
 * The one options object both adapters take (`steadfastPlugin` for Fastify, `createExpressRouter`
 * for Express), validated once at start with every default written here, so the two cannot drift.
 * `Request` is the framework's request type.
 */
import { z } from 'zod';
import type { OpenedDatabase } from '../db/open-database.js';
import type { Persistence } from '../persistence/create-persistence.js';
import { MAX_SYNC_BODY_BYTES } from '../protocol/constants.js';
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
  readonly limits?: {
    /** Largest sync body, in bytes (default 1 MiB). */
    readonly syncBodyBytes?: number;
    /** Sync requests a minute per user before 429 (default 300). */
    readonly syncPerMinute?: number;
    /** Sign-in attempts a minute per address before 429, for `loginRateLimit` (default 10). */
    readonly loginPerMinute?: number;
  };
  /** Which of Steadfast's routes to mount (all by default). */
  readonly routes?: {
    readonly sync?: boolean;
    readonly drafts?: boolean;
    /** `GET /api/autosave/base/`: a stale draft's base version and the current record, for its merge. */
    readonly base?: boolean;
    readonly activity?: boolean;
    readonly health?: boolean;
    readonly metrics?: boolean;
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
        base: z.boolean().default(true),
        activity: z.boolean().default(true),
        health: z.boolean().default(true),
        metrics: z.boolean().default(true),
      })
      .prefault({}),
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
