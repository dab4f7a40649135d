/**
 * HTTP test fixtures: a Fastify app with the Steadfast plugin over a test database, a client that
 * speaks to it through inject or a real socket, users, and signed-in sessions (cookie + CSRF token).
 */

import type { AddressInfo } from 'node:net';
import express, { type RequestHandler } from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { type Kysely, sql } from 'kysely';
import { createAppPersistence } from '../../examples/business-app/src/app-database.js';
import type { Database } from '../../packages/steadfast/src/db/index.js';
import {
  createExpressRouter,
  createUser,
  type SessionUser,
  type SteadfastPluginOptions,
  signIn,
  steadfastPlugin,
} from '../../packages/steadfast/src/http/index.js';
import type { Persistence, PersistenceOptions } from '../../packages/steadfast/src/persistence/index.js';
import { SYNC_PATH } from '../../packages/steadfast/src/protocol/constants.js';
import type { TestDatabase } from './databases.js';

export const TEST_SECRET = 'a-test-session-secret-that-is-long-enough-0123456789';

/** Every per-user sync limit out of the way: for fuzz tests and benchmarks that send as one user. */
export const NO_SYNC_LIMITS = {
  syncPerMinute: 1_000_000_000,
  changesPerMinute: 1_000_000_000,
  syncBytesPerMinute: 1_000_000_000_000,
  draftsPerUser: 1_000_000_000,
  draftBytesPerUser: 1_000_000_000_000,
} as const;

export interface TestResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | number | string[] | undefined>>;
  readonly text: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary response bodies.
  readonly json: any;
}

export interface TestRequest {
  readonly method?: string;
  readonly url: string;
  /** An object is sent as JSON; a string as it is (set content-type yourself). */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly session?: TestSession;
}

export interface ApiClient {
  request(request: TestRequest): Promise<TestResponse>;
}

export interface TestSession {
  readonly user: SessionUser;
  readonly cookie: string;
  readonly csrf: string;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function encode(request: TestRequest): { body?: string; headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  if (request.session) {
    headers.cookie = request.session.cookie;
    headers['x-csrf-token'] = request.session.csrf;
  }
  let body: string | undefined;
  if (request.body !== undefined) {
    if (typeof request.body === 'string') body = request.body;
    else {
      body = JSON.stringify(request.body);
      headers['content-type'] = 'application/json';
    }
  }
  return { body, headers: { ...headers, ...request.headers } };
}

export function injectClient(app: FastifyInstance): ApiClient {
  return {
    async request(request) {
      const { body, headers } = encode(request);
      const response = await app.inject({
        method: (request.method ?? 'GET') as 'GET',
        url: request.url,
        headers,
        ...(body === undefined ? {} : { payload: body }),
      });
      return {
        status: response.statusCode,
        headers: response.headers,
        text: response.body,
        json: parseJson(response.body),
      };
    },
  };
}

export function socketClient(baseUrl: string): ApiClient {
  return {
    async request(request) {
      const { body, headers } = encode(request);
      const response = await fetch(new URL(request.url, baseUrl), {
        method: request.method ?? 'GET',
        headers,
        body,
        redirect: 'manual',
      });
      const text = await response.text();
      return {
        status: response.status,
        headers: Object.fromEntries(response.headers),
        text,
        json: parseJson(text),
      };
    },
  };
}

/** The Steadfast plugin plus two test-only routes: `POST /test/login` and `GET /test/csrf`. */
export async function buildTestApp(
  database: TestDatabase,
  options: Partial<SteadfastPluginOptions> & { persistence?: Persistence } = {},
  /** Adds the test's own routes before the app is ready. */
  setup?: (app: FastifyInstance) => void,
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  const persistence = options.persistence ?? createAppPersistence({ db: database.opened.db });
  await app.register(steadfastPlugin, {
    database: database.opened,
    persistence,
    sessionSecret: TEST_SECRET,
    defaultMetrics: false,
    ...options,
  });
  app.post('/test/login', async (request, reply) => {
    const { username, password } = request.body as { username: string; password: string };
    const user = await signIn(request, username, password);
    if (!user)
      return reply.code(401).send({ error: 'unauthenticated', message: 'wrong username or password' });
    return { user };
  });
  app.get('/test/csrf', async (_request, reply) => ({ token: reply.generateCsrf() }));
  setup?.(app);
  await app.ready();
  return app;
}

let userCounter = 0;
export const TEST_PASSWORD = 'correct horse battery staple';

export async function createTestUser(persistence: Persistence, name = 'user'): Promise<SessionUser> {
  userCounter += 1;
  return createUser(persistence, {
    username: `${name}${process.pid}x${userCounter}`,
    displayName: `Test ${name} ${userCounter}`,
    password: TEST_PASSWORD,
  });
}

function cookiesOf(response: TestResponse): string[] {
  const header = response.headers['set-cookie'];
  const list = Array.isArray(header) ? header : header ? [header] : [];
  return list.map((c) => String(c).split(';')[0] as string);
}

/** Signs `user` in through the app and fetches a CSRF token for that session. */
export async function signInAs(app: FastifyInstance, user: SessionUser): Promise<TestSession> {
  const client = injectClient(app);
  const login = await client.request({
    method: 'POST',
    url: '/test/login',
    body: { username: user.username, password: TEST_PASSWORD },
  });
  if (login.status !== 200) throw new Error(`sign-in failed: ${login.status} ${login.text}`);
  const cookie = cookiesOf(login).join('; ');
  const csrf = await client.request({ url: '/test/csrf', headers: { cookie } });
  const refreshed = cookiesOf(csrf);
  return {
    user,
    cookie: refreshed.length > 0 ? refreshed.join('; ') : cookie,
    csrf: csrf.json.token as string,
  };
}

/** An API under test: a client for it, plus the Fastify app that signs users in. */
export interface ApiHarness {
  readonly adapter: 'fastify' | 'express';
  readonly client: ApiClient;
  /** The app that owns sessions (for Express, a Fastify app sharing the database). */
  readonly app: FastifyInstance;
  readonly persistence: Persistence;
  close(): Promise<void>;
}

export type HarnessOptions = Partial<SteadfastPluginOptions>;

/** The persistence layer's own options (`authorize`, …) for a harness, beside the plugin's. */
export type HarnessPersistenceOptions = Omit<Partial<PersistenceOptions>, 'db'>;

/** The plugin, spoken to through inject. */
export async function fastifyHarness(
  database: TestDatabase,
  options: HarnessOptions = {},
  persistenceOptions: HarnessPersistenceOptions = {},
): Promise<ApiHarness> {
  const persistence = createAppPersistence({ ...persistenceOptions, db: database.opened.db });
  const app = await buildTestApp(database, { ...options, persistence });
  return { adapter: 'fastify', client: injectClient(app), app, persistence, close: () => app.close() };
}

/** The Express router on a real socket (127.0.0.1:0); sessions come from a Fastify app on the same database. */
export async function expressHarness(
  database: TestDatabase,
  options: HarnessOptions = {},
  persistenceOptions: HarnessPersistenceOptions = {},
  /** The app's own middleware, run before the router (one that gives each request its id, say). */
  before: readonly RequestHandler[] = [],
): Promise<ApiHarness> {
  const persistence = createAppPersistence({ ...persistenceOptions, db: database.opened.db });
  const app = await buildTestApp(database, { ...options, persistence });
  const server = express();
  for (const middleware of before) server.use(middleware);
  server.use(
    createExpressRouter({
      database: database.opened,
      persistence,
      sessionSecret: TEST_SECRET,
      limits: options.limits,
      routes: options.routes,
      recordForKey: options.recordForKey,
      activity: options.activity,
      metrics: options.metrics,
    }),
  );
  const listener = server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => listener.once('listening', () => resolve()));
  const { port } = listener.address() as AddressInfo;
  return {
    adapter: 'express',
    client: socketClient(`http://127.0.0.1:${port}`),
    app,
    persistence,
    async close() {
      await new Promise<void>((resolve) => listener.close(() => resolve()));
      await app.close();
    },
  };
}

/** Row counts and a digest of every table a sync could touch, to prove a rejected request changed nothing. */
export async function databaseFingerprint(db: Kysely<Database>): Promise<string> {
  const drafts = await db
    .selectFrom('steadfast_drafts')
    .selectAll()
    .orderBy('user_id')
    .orderBy('kind')
    .orderBy('key')
    .execute();
  const clients = await db.selectFrom('steadfast_sync_clients').selectAll().orderBy('client_id').execute();
  const log = await db.selectFrom('steadfast_activity_log').select(['id', 'hash']).orderBy('id').execute();
  return JSON.stringify({ drafts, clients, log });
}

/**
 * A cheap fingerprint of what a sync can write, for fuzz tests that check thousands of refusals:
 * every applied change adds a log row, and every write changes a count or a sum. (Exact, but
 * reading every row: databaseFingerprint.)
 */
export async function syncTablesChecksum(db: Kysely<Database>): Promise<string> {
  const result = await sql<Record<string, unknown>>`select
    (select count(*) from steadfast_drafts) as drafts,
    (select coalesce(sum(length(data)), 0) from steadfast_drafts) as draft_bytes,
    (select count(*) from steadfast_sync_clients) as clients,
    (select coalesce(sum(last_mutation_id), 0) from steadfast_sync_clients) as mutation_sum,
    (select count(*) from steadfast_activity_log) as log,
    (select coalesce(max(id), 0) from steadfast_activity_log) as log_max`.execute(db);
  return JSON.stringify(result.rows[0], (_k, v) => (typeof v === 'bigint' ? Number(v) : v));
}

/** A fresh valid clientId. */
export function newClientId(): string {
  return crypto.randomUUID();
}

export function change(mutationId: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    mutationId,
    kind: 'form',
    key: 'product-new',
    data: { name: `Desk ${mutationId}` },
    savedAt: new Date().toISOString(),
    ...overrides,
  };
}

/** Both adapters' harnesses, for the suites run against each. */
export const ADAPTER_HARNESSES = { fastify: fastifyHarness, express: expressHarness } as const;

/** The sync route every API suite posts to. */
export const SYNC = SYNC_PATH;
