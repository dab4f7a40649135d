/**
 * The server entry points' public types, as an app imports them (`steadfast/persistence`,
 * `steadfast/fastify`, `steadfast/express`, `steadfast/protocol`). A change here is a change of the
 * package's API: make it on purpose, and update these pins with it.
 *
 * The assertions are types: `npm run typecheck` checks them (test/ is in the root tsconfig, whose
 * `paths` map `steadfast/*` to the sources); at run time expectTypeOf does nothing, so each test
 * also touches the runtime export it pins. The browser client's pins live in
 * test/unit/client/public-api.types.test.ts, where the DOM types are.
 */
import type { Express, Request, RequestHandler, Router } from 'express';
import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  preHandlerHookHandler,
} from 'fastify';
import type { Kysely, PostgresDialectConfig } from 'kysely';
import type pg from 'pg';
import type { Registry } from 'prom-client';
import {
  createExpressRouter,
  type ExpressRouterOptions,
  type SteadfastExpressRouter,
} from 'steadfast/express';
import {
  type ActivityVisibility,
  type Authenticate,
  type PrivateRecords,
  type RecordForKey,
  type SessionUser,
  type SignedInUser,
  type SteadfastOptions,
  SteadfastOptionsError,
  type SteadfastPluginOptions,
  signIn,
  steadfastPlugin,
} from 'steadfast/fastify';
import {
  type ActivityEntry,
  type Actor,
  AUTHORIZE_ACTIONS,
  type Authorize,
  type AuthorizeAction,
  type AuthorizeDecision,
  type AuthorizeRequest,
  type BaseStatus,
  type Clock,
  ConflictError,
  createPersistence,
  type Database,
  type DeleteResult,
  type FieldAuthor,
  ForbiddenError,
  type ModelDefinition,
  type OpenedDatabase,
  openDatabase,
  type Persistence,
  type PersistenceHooks,
  type PersistenceLogger,
  type PersistenceOptions,
  type RecordValues,
  type RecordWithBase,
  type RevertOptions,
  type SaveOptions,
  type SaveResult,
  type StaleMerge,
  type StoredRecord,
  withPreparedStatements,
} from 'steadfast/persistence';
import {
  BASE_PATH,
  type BaseResponse,
  baseQuerySchema,
  baseResponseSchema,
  type ChangeResult,
  type FieldValues,
  type JsonFieldValue,
  type MergeConflict,
  type MergeOptions,
  type MergeResult,
  mergeThreeWay,
  resolveConflicts,
  type SyncChange,
  type SyncRequest,
  type SyncResponse,
  syncRequestSchema,
  syncResponseSchema,
} from 'steadfast/protocol';
import { describe, expect, expectTypeOf, it } from 'vitest';

// Type-checked, never called: an app's registration of the plugin and of the router.
const registerSteadfast = (app: FastifyInstance, persistence: Persistence) =>
  app.register(steadfastPlugin, { persistence, sessionSecret: 'x'.repeat(32) });
const registerOwnSignIn = (app: FastifyInstance, persistence: Persistence) =>
  app.register(steadfastPlugin, {
    persistence,
    authenticate: (request) => (request.headers['x-user'] ? { id: String(request.headers['x-user']) } : null),
    verifyCsrf: async () => true,
  });
const registerWithoutPersistence = (app: FastifyInstance) =>
  // @ts-expect-error persistence is required
  app.register(steadfastPlugin, { sessionSecret: 'x'.repeat(32) });
const mountRouter = (app: Express, options: ExpressRouterOptions) => app.use(createExpressRouter(options));

describe('steadfast/persistence', () => {
  it('createPersistence takes PersistenceOptions and returns a Persistence', () => {
    expect(typeof createPersistence).toBe('function');
    expectTypeOf(createPersistence).parameters.toEqualTypeOf<[options: PersistenceOptions]>();
    expectTypeOf(createPersistence).returns.toEqualTypeOf<Persistence>();
  });

  it("PersistenceOptions: the app's own Kysely database (any tables), every other option optional", () => {
    expectTypeOf<PersistenceOptions>().toEqualTypeOf<{
      // biome-ignore lint/suspicious/noExplicitAny: pinned as the API declares it.
      readonly db: Kysely<any>;
      readonly models?: readonly ModelDefinition[];
      readonly clock?: Clock;
      readonly hooks?: PersistenceHooks;
      readonly logger?: PersistenceLogger;
      readonly onCommitError?: (error: unknown) => void;
      readonly groupCommit?: boolean;
      readonly batchSaves?: boolean;
      readonly onSaveBatch?: (size: number, outcome: 'committed' | 'abandoned' | 'failed') => void;
      readonly authorize?: Authorize;
      readonly recordRefusals?: boolean;
    }>();
    // openDatabase's `db` is what createPersistence wants.
    expectTypeOf<OpenedDatabase['db']>().toExtend<PersistenceOptions['db']>();
    expectTypeOf(openDatabase).returns.resolves.toEqualTypeOf<OpenedDatabase>();
    expectTypeOf<{ db: Kysely<Database> }>().toExtend<PersistenceOptions>();
    expectTypeOf<{
      db: Kysely<{ invoices: { id: number; version: number } }>;
    }>().toExtend<PersistenceOptions>();
    expectTypeOf<{ models: [] }>().not.toExtend<PersistenceOptions>();
  });

  it('withPreparedStatements: takes a node-postgres Pool, gives what PostgresDialect takes', () => {
    expectTypeOf<pg.Pool>().toExtend<Parameters<typeof withPreparedStatements>[0]>();
    expectTypeOf(withPreparedStatements).returns.toExtend<PostgresDialectConfig['pool']>();
  });

  it('Persistence: the saves, reverts and transactions, each typed', () => {
    expectTypeOf<keyof Persistence>().toEqualTypeOf<
      | 'db'
      | 'dialect'
      | 'registry'
      | 'manager'
      | 'changeTracker'
      | 'activityLog'
      | 'context'
      | 'authorizer'
      | 'autoSave'
      | 'autoSaveBulk'
      | 'autoDelete'
      | 'revert'
      | 'readWithBase'
      | 'mergeStale'
      | 'withTransaction'
      | 'runAs'
      | 'onCommit'
      | 'executor'
      | 'idle'
    >();
    expectTypeOf<Persistence['autoSave']>().toEqualTypeOf<
      (model: string, values: RecordValues, options?: SaveOptions) => Promise<SaveResult>
    >();
    expectTypeOf<Persistence['autoSaveBulk']>().toEqualTypeOf<
      (model: string, items: readonly RecordValues[], options?: SaveOptions) => Promise<SaveResult[]>
    >();
    expectTypeOf<Persistence['autoDelete']>().toEqualTypeOf<
      (model: string, id: string | number, options?: { expectedVersion?: number }) => Promise<DeleteResult>
    >();
    expectTypeOf<Persistence['revert']>().toEqualTypeOf<
      (model: string, id: string | number, toVersion: number, options?: RevertOptions) => Promise<SaveResult>
    >();
    expectTypeOf<Persistence['runAs']>().toEqualTypeOf<
      <T>(actor: Actor | string, fn: () => Promise<T>) => Promise<T>
    >();
    expectTypeOf<Persistence['withTransaction']>().toEqualTypeOf<<T>(fn: () => Promise<T>) => Promise<T>>();
    expectTypeOf<Persistence['idle']>().toEqualTypeOf<() => Promise<void>>();
    expectTypeOf<Persistence['readWithBase']>().toEqualTypeOf<
      (model: string, id: string | number, baseVersion: number) => Promise<RecordWithBase>
    >();
    expectTypeOf<Persistence['mergeStale']>().toEqualTypeOf<
      (model: string, id: string | number, values: RecordValues, baseVersion: number) => Promise<StaleMerge>
    >();
    expectTypeOf<RecordValues>().toEqualTypeOf<Readonly<Record<string, unknown>>>();
    expectTypeOf<SaveOptions>().toEqualTypeOf<{
      readonly expectedVersion?: number;
      readonly action?: 'revert' | 'sync';
    }>();
  });

  it('Authorize: asked with the actor, the action, the model and the record; answers true or a refusal', () => {
    expect(AUTHORIZE_ACTIONS).toEqual(['create', 'update', 'delete', 'revert', 'sync', 'read-log']);
    expectTypeOf<AuthorizeAction>().toEqualTypeOf<
      'create' | 'update' | 'delete' | 'revert' | 'sync' | 'read-log'
    >();
    expectTypeOf<AuthorizeRequest>().toEqualTypeOf<{
      readonly actor: Actor;
      readonly action: AuthorizeAction;
      readonly model: string | undefined;
      readonly objectId: string | undefined;
      readonly record: Readonly<Record<string, unknown>> | undefined;
      readonly values: Readonly<Record<string, unknown>> | undefined;
    }>();
    expectTypeOf<AuthorizeDecision>().toEqualTypeOf<
      boolean | { readonly refuse: string; readonly record?: boolean }
    >();
    expectTypeOf<Authorize>().toExtend<
      (request: AuthorizeRequest) => AuthorizeDecision | Promise<AuthorizeDecision>
    >();
    expectTypeOf<() => Promise<void>>().not.toExtend<Authorize>();
    const refused = new ForbiddenError('update', 'Setting', 'app.currency', 'Admins only.');
    expect(refused.code).toBe('forbidden');
  });

  it('SaveResult: the record read back, whether it was created or changed, its version and log entry', () => {
    expectTypeOf<SaveResult>().toEqualTypeOf<{
      readonly record: StoredRecord;
      readonly created: boolean;
      readonly changed: boolean;
      readonly version: number;
      readonly entry: ActivityEntry | null;
    }>();
    expectTypeOf<SaveResult>().not.toHaveProperty('id');
  });

  it('RecordWithBase and StaleMerge: a stale form’s base, the record now, who changed what, and the merge', () => {
    expectTypeOf<RecordWithBase>().toEqualTypeOf<{
      readonly model: string;
      readonly objectId: string;
      readonly baseVersion: number;
      readonly baseStatus: BaseStatus;
      readonly base: FieldValues | null;
      readonly oldestVersion: number | null;
      readonly current: FieldValues;
      readonly currentVersion: number;
      readonly changedBy: FieldAuthor | null;
      readonly fieldAuthors: Readonly<Record<string, FieldAuthor>>;
    }>();
    expectTypeOf<BaseStatus>().toEqualTypeOf<'found' | 'pruned' | 'unknown'>();
    expectTypeOf<FieldAuthor>().toEqualTypeOf<{
      readonly actor: string;
      readonly at: string;
      readonly version: number;
    }>();
    expectTypeOf<StaleMerge>().toExtend<RecordWithBase & MergeResult>();
    expectTypeOf<StaleMerge['draft']>().toEqualTypeOf<FieldValues>();
    expectTypeOf<keyof StaleMerge>().toEqualTypeOf<keyof RecordWithBase | keyof MergeResult | 'draft'>();
  });

  it('errors are classes with a stable code', () => {
    expect(new ConflictError('Product', '7', 3, 4, undefined)).toBeInstanceOf(Error);
    expectTypeOf<ConflictError['code']>().toExtend<string>();
  });
});

describe('steadfast/fastify', () => {
  it('steadfastPlugin is a Fastify plugin taking SteadfastPluginOptions', () => {
    expect(typeof steadfastPlugin).toBe('function');
    expectTypeOf(steadfastPlugin).toExtend<FastifyPluginAsync<SteadfastPluginOptions>>();
    expectTypeOf(registerSteadfast).toBeFunction();
    expectTypeOf(registerOwnSignIn).toBeFunction();
    expectTypeOf(registerWithoutPersistence).toBeFunction();
  });

  it('SteadfastPluginOptions: the one options interface of both adapters; persistence required, the rest checked at start', () => {
    expectTypeOf<SteadfastPluginOptions>().toEqualTypeOf<SteadfastOptions<FastifyRequest>>();
    expectTypeOf<keyof SteadfastPluginOptions>().toEqualTypeOf<
      | 'database'
      | 'persistence'
      | 'authenticate'
      | 'verifyCsrf'
      | 'sessionSecret'
      | 'secureCookies'
      | 'sessionTtlMs'
      | 'cookieName'
      | 'loginPath'
      | 'limits'
      | 'activity'
      | 'metrics'
      | 'routes'
      | 'recordForKey'
      | 'groupCommit'
      | 'sweepIntervalMs'
      | 'defaultMetrics'
    >();
    expectTypeOf<{ persistence: Persistence }>().toExtend<SteadfastPluginOptions>();
    expectTypeOf<{ sessionSecret: string }>().not.toExtend<SteadfastPluginOptions>();
    expectTypeOf<SteadfastPluginOptions['database']>().toEqualTypeOf<OpenedDatabase | undefined>();
    expectTypeOf<SteadfastPluginOptions['persistence']>().toEqualTypeOf<Persistence>();
    expectTypeOf<SteadfastPluginOptions['sessionSecret']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<SteadfastPluginOptions['authenticate']>().toEqualTypeOf<
      Authenticate<FastifyRequest> | undefined
    >();
    expectTypeOf<Authenticate<FastifyRequest>>().toEqualTypeOf<
      (request: FastifyRequest) => SignedInUser | null | Promise<SignedInUser | null>
    >();
    expectTypeOf<SignedInUser>().toEqualTypeOf<{
      readonly id: string | number;
      readonly displayName?: string;
    }>();
    expectTypeOf<SteadfastPluginOptions['secureCookies']>().toEqualTypeOf<boolean | 'auto' | undefined>();
    expectTypeOf<SteadfastPluginOptions['sessionTtlMs']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<SteadfastPluginOptions['cookieName']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<SteadfastPluginOptions['loginPath']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<SteadfastPluginOptions['recordForKey']>().toEqualTypeOf<RecordForKey | undefined>();
    expectTypeOf<SteadfastPluginOptions['sweepIntervalMs']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<SteadfastPluginOptions['defaultMetrics']>().toEqualTypeOf<boolean | undefined>();
    expectTypeOf<NonNullable<SteadfastPluginOptions['limits']>>().branded.toEqualTypeOf<{
      readonly syncBodyBytes?: number | undefined;
      readonly syncPerMinute?: number | undefined;
      readonly changesPerMinute?: number | undefined;
      readonly syncBytesPerMinute?: number | undefined;
      readonly draftBytes?: number | undefined;
      readonly draftKeys?: number | undefined;
      readonly draftsPerUser?: number | undefined;
      readonly draftBytesPerUser?: number | undefined;
      readonly loginPerMinute?: number | undefined;
      readonly activityEntryBytes?: number | undefined;
      readonly activityPageBytes?: number | undefined;
    }>();
    expectTypeOf<SteadfastPluginOptions['activity']>().toEqualTypeOf<ActivityVisibility | undefined>();
    expectTypeOf<ActivityVisibility>().toEqualTypeOf<{
      readonly privateRecords?: readonly PrivateRecords[];
      readonly canSeeDetails?: (viewer: SignedInUser, entry: ActivityEntry) => boolean;
      readonly seesAllDetails?: (viewer: SignedInUser) => boolean | Promise<boolean>;
    }>();
    expectTypeOf<PrivateRecords>().toEqualTypeOf<{ readonly model: string; readonly objectId: string }>();
    expectTypeOf<SteadfastPluginOptions['metrics']>().toEqualTypeOf<
      | false
      | { readonly token?: string; readonly listen?: { readonly port: number; readonly host?: string } }
      | undefined
    >();
    expectTypeOf<NonNullable<SteadfastPluginOptions['routes']>>().branded.toEqualTypeOf<{
      readonly sync?: boolean | undefined;
      readonly drafts?: boolean | undefined;
      readonly base?: boolean | undefined;
      readonly activity?: boolean | undefined;
      readonly health?: boolean | undefined;
    }>();
    expectTypeOf<NonNullable<SteadfastPluginOptions['groupCommit']>>().branded.toEqualTypeOf<{
      readonly maxBatch?: number | undefined;
    }>();
    expect(new SteadfastOptionsError('x').code).toBe('invalid_steadfast_options');
  });

  it('declares the decorations an app uses: app.persistence, app.requireUser, request.user, app.csrfProtection, reply.generateCsrf', () => {
    expectTypeOf<FastifyInstance['persistence']>().toEqualTypeOf<Persistence>();
    expectTypeOf<FastifyInstance['database']>().toEqualTypeOf<OpenedDatabase | undefined>();
    expectTypeOf<FastifyInstance['metrics']>().toEqualTypeOf<Registry>();
    expectTypeOf<FastifyInstance['requireUser']>().toEqualTypeOf<
      (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void
    >();
    expectTypeOf<FastifyRequest['user']>().toEqualTypeOf<SignedInUser | null>();
    // Steadfast's own sessions sign in a SessionUser, which is a SignedInUser.
    expectTypeOf<SessionUser>().toExtend<SignedInUser>();
    expectTypeOf<SessionUser>().toEqualTypeOf<{
      readonly id: number;
      readonly username: string;
      readonly displayName: string;
    }>();
    expectTypeOf<FastifyInstance['csrfProtection']>().parameters.toEqualTypeOf<
      [req: FastifyRequest, reply: FastifyReply, done: () => void]
    >();
    expectTypeOf<FastifyReply['generateCsrf']>().returns.toEqualTypeOf<string>();
    // `{ preHandler: [app.requireUser, app.csrfProtection] }`, as the README shows.
    expectTypeOf<FastifyInstance['requireUser']>().toExtend<preHandlerHookHandler>();
    expectTypeOf<FastifyInstance['csrfProtection']>().toExtend<preHandlerHookHandler>();
  });

  it('signIn answers the signed-in user or null', () => {
    expect(typeof signIn).toBe('function');
    expectTypeOf(signIn).parameters.toEqualTypeOf<
      [request: FastifyRequest, username: string, password: string]
    >();
    expectTypeOf(signIn).returns.resolves.toEqualTypeOf<SessionUser | null>();
  });
});

describe('steadfast/express', () => {
  it('createExpressRouter takes ExpressRouterOptions and returns a router with its metrics', () => {
    expect(typeof createExpressRouter).toBe('function');
    expectTypeOf(createExpressRouter).parameters.toEqualTypeOf<[options: ExpressRouterOptions]>();
    expectTypeOf(createExpressRouter).returns.toEqualTypeOf<SteadfastExpressRouter>();
    expectTypeOf<SteadfastExpressRouter>().toEqualTypeOf<
      Router & { readonly metrics: Registry; close(): Promise<void> }
    >();
    // `app.use(createExpressRouter(…))`
    expectTypeOf<SteadfastExpressRouter>().toExtend<RequestHandler>();
    expectTypeOf(mountRouter).toBeFunction();
  });

  it('ExpressRouterOptions: the same options interface as the Fastify plugin, over Express requests', () => {
    expectTypeOf<ExpressRouterOptions>().toEqualTypeOf<SteadfastOptions<Request>>();
    // Sync and async authenticate both fit; a bare string is not a user.
    expectTypeOf<(request: Request) => SignedInUser | null>().toExtend<
      NonNullable<ExpressRouterOptions['authenticate']>
    >();
    expectTypeOf<(request: Request) => Promise<{ id: string }>>().toExtend<
      NonNullable<ExpressRouterOptions['authenticate']>
    >();
    expectTypeOf<(request: Request) => Promise<string>>().not.toExtend<
      NonNullable<ExpressRouterOptions['authenticate']>
    >();
  });
});

describe('steadfast/protocol', () => {
  it('SyncRequest: a client id and its changes', () => {
    expectTypeOf<SyncRequest>().branded.toEqualTypeOf<{ clientId: string; changes: SyncChange[] }>();
    expectTypeOf<keyof SyncChange>().toEqualTypeOf<
      'mutationId' | 'kind' | 'key' | 'data' | 'baseVersion' | 'savedAt'
    >();
    expectTypeOf<SyncChange['mutationId']>().toEqualTypeOf<number>();
    expectTypeOf<SyncChange['kind']>().toEqualTypeOf<'form' | 'state'>();
    expectTypeOf<SyncChange['key']>().toEqualTypeOf<string>();
    expectTypeOf<SyncChange['baseVersion']>().toEqualTypeOf<number | null | undefined>();
    expectTypeOf<SyncChange['savedAt']>().toEqualTypeOf<string>();
    expectTypeOf<null>().toExtend<SyncChange['data']>();
    expectTypeOf<{ name: string; tags: string[]; price: number }>().toExtend<SyncChange['data']>();
    expectTypeOf(syncRequestSchema.parse).returns.toEqualTypeOf<SyncRequest>();
    expect(syncRequestSchema.safeParse({ clientId: 'not-a-uuid', changes: [] }).success).toBe(false);
  });

  it('SyncResponse: what the server applied, per mutation', () => {
    expectTypeOf<SyncResponse>().branded.toEqualTypeOf<{
      status: 'ok';
      synced: number;
      lastMutationId: number;
      results: ChangeResult[];
      serverTime: string;
    }>();
    expectTypeOf<ChangeResult>().branded.toEqualTypeOf<{
      mutationId: number;
      status: 'applied' | 'duplicate' | 'stale';
      currentVersion?: number | undefined;
    }>();
    expectTypeOf(syncResponseSchema.parse).returns.toEqualTypeOf<SyncResponse>();
  });

  it('BaseResponse: a stale draft’s base and the current record, or why there is no base', () => {
    expect(BASE_PATH).toBe('/api/autosave/base/');
    expectTypeOf<BaseResponse['status']>().toEqualTypeOf<'found' | 'pruned' | 'unknown'>();
    type Found = Extract<BaseResponse, { status: 'found' }>;
    expectTypeOf<keyof Found>().toEqualTypeOf<
      'status' | 'key' | 'version' | 'current' | 'changedBy' | 'base' | 'fieldsChangedBy'
    >();
    expectTypeOf<Found['base']>().toExtend<FieldValues>();
    expectTypeOf<Found['current']>().toExtend<FieldValues>();
    expectTypeOf<Extract<BaseResponse, { status: 'pruned' }>['oldestVersion']>().toEqualTypeOf<number>();
    expectTypeOf(baseResponseSchema.parse).returns.toEqualTypeOf<BaseResponse>();
    expect(baseQuerySchema.safeParse({ key: 'product-1', version: '3' }).data).toEqual({
      key: 'product-1',
      version: 3,
    });
  });

  it('mergeThreeWay(base, draft, current) gives a MergeResult; resolveConflicts the settled fields', () => {
    expectTypeOf(mergeThreeWay).parameters.toEqualTypeOf<
      [base: FieldValues, draft: FieldValues, current: FieldValues, options?: MergeOptions]
    >();
    expectTypeOf(mergeThreeWay).returns.toEqualTypeOf<MergeResult>();
    expectTypeOf<MergeResult>().toEqualTypeOf<{
      readonly merged: FieldValues;
      readonly fromDraft: readonly string[];
      readonly fromServer: readonly string[];
      readonly conflicts: readonly MergeConflict[];
    }>();
    expectTypeOf<MergeConflict>().toEqualTypeOf<{
      readonly field: string;
      readonly base: JsonFieldValue | undefined;
      readonly draft: JsonFieldValue;
      readonly current: JsonFieldValue | undefined;
    }>();
    expectTypeOf<FieldValues>().toEqualTypeOf<Readonly<Record<string, JsonFieldValue>>>();
    expectTypeOf(resolveConflicts).parameters.toEqualTypeOf<
      [result: MergeResult, choices: Readonly<Record<string, 'yours' | 'theirs' | 'original'>>]
    >();
    expectTypeOf(resolveConflicts).returns.toEqualTypeOf<FieldValues>();
    const result = mergeThreeWay({ price: '500.00' }, { price: '450.00' }, { price: '480.00' });
    expect(result.conflicts).toHaveLength(1);
  });
});
