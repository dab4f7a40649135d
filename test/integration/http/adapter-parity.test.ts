/**
 * The two adapters are one API: the Fastify plugin and the Express router mount exactly the rows of
 * the route table (route-table.ts), no more and no fewer, and answer the same requests with the
 * same status, the same body and the same headers that matter to a client (Content-Type,
 * Cache-Control, Retry-After, WWW-Authenticate, X-Content-Type-Options): refusals before the body
 * (401, 403, 413, 429), bad queries and bodies (400), gaps (409), missing records (404), the
 * metrics token, health, the browser script, and the app's own sign-in with an asynchronous CSRF
 * check. Run on both databases. (sync-api.test.ts runs every behaviour on both adapters; this pins
 * that the answers are the same, byte for byte where they can be.)
 */
import type { AddressInfo } from 'node:net';
import express, { type Router } from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import { openDatabase } from '../../../packages/steadfast/src/db/index.js';
import { registerBrowserScript } from '../../../packages/steadfast/src/http/adapters/fastify/browser-script.js';
import { browserScriptRouter } from '../../../packages/steadfast/src/http/express.js';
import {
  createExpressRouter,
  type SignedInUser,
  type SteadfastPluginOptions,
  steadfastPlugin,
} from '../../../packages/steadfast/src/http/index.js';
import type { Route } from '../../../packages/steadfast/src/http/route-table.js';
import { describeEachDatabase } from '../../support/databases.js';
import {
  type ApiClient,
  type ApiHarness,
  change,
  createTestUser,
  expressHarness,
  fastifyHarness,
  injectClient,
  newClientId,
  SYNC,
  signInAs,
  socketClient,
  type TestRequest,
  type TestResponse,
  type TestSession,
} from '../../support/http-fixtures.js';

const DRAFTS = '/api/autosave/drafts/';
const BASE = '/api/autosave/base/';
const METRICS_TOKEN = 'a-metrics-token-for-the-parity-test';
/** What a client reads of an answer beside its status and body. */
const COMPARED_HEADERS = [
  'content-type',
  'cache-control',
  'retry-after',
  'www-authenticate',
  'x-content-type-options',
] as const;

const OPTIONS = {
  limits: { syncPerMinute: 10, syncBodyBytes: 4096 },
  metrics: { token: METRICS_TOKEN },
} satisfies Partial<SteadfastPluginOptions>;

/** Status, body and the compared headers; what varies by the moment (times, ids) replaced. */
function answerOf(response: TestResponse, clientId?: string) {
  const headers: Record<string, string | undefined> = {};
  for (const name of COMPARED_HEADERS) {
    const value = response.headers[name];
    headers[name] = value === undefined ? undefined : String(value);
  }
  // A fixed window's seconds left depend on when each adapter's window opened.
  if (response.status === 429 && Number(headers['retry-after']) > 0) headers['retry-after'] = '<seconds>';
  let body: unknown = response.json ?? response.text;
  if (headers['content-type']?.startsWith('text/plain')) body = '<metrics text>';
  const text = JSON.stringify(body)
    .replace(/"serverTime":"[^"]+"/g, '"serverTime":"<time>"')
    .replace(/"(savedAt|updatedAt)":"[^"]+"/g, '"$1":"<time>"');
  return {
    status: response.status,
    headers,
    body: JSON.parse(clientId ? text.replaceAll(clientId, '<client>') : text),
  };
}

function tableRoutes(routes: ReadonlyArray<Pick<Route, 'method' | 'path'>>): string[] {
  return routes.map((route) => `${route.method} ${route.path}`).sort();
}

/** The routes an Express router serves, from its own stack. */
function expressRoutes(router: Router): string[] {
  const routes: string[] = [];
  for (const layer of router.stack) {
    const route = layer.route as { path: string; methods: Record<string, boolean> } | undefined;
    if (!route) continue;
    for (const [method, on] of Object.entries(route.methods))
      if (on) routes.push(`${method.toUpperCase()} ${route.path}`);
  }
  return routes.sort();
}

/** The routes a Fastify plugin adds, seen by an onRoute hook registered before it (HEAD is Fastify's own). */
async function fastifyRoutes(register: (app: FastifyInstance) => Promise<void> | void): Promise<string[]> {
  const app = Fastify();
  const routes: string[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push(`${method} ${route.url}`);
  });
  await register(app);
  await app.ready();
  await app.close();
  return routes.sort();
}

async function listen(router: Router): Promise<{ client: ApiClient; close(): Promise<void> }> {
  const server = express().use(router).listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    client: socketClient(`http://127.0.0.1:${port}`),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describeEachDatabase('adapter parity', (current) => {
  describe('routes', () => {
    it('both adapters mount exactly the route table, with every route on and with some off', async () => {
      const persistence = createAppPersistence({ db: current().opened.db });
      const every = { persistence, sessionSecret: 'x'.repeat(32), defaultMetrics: false, ...OPTIONS };
      const some = { ...every, routes: { base: false, activity: false }, metrics: false as const };
      for (const [options, expected] of [
        [
          every,
          [
            'GET /api/activity',
            'GET /api/activity/:id',
            'GET /api/autosave/base/',
            'GET /api/autosave/drafts/',
            'GET /health',
            'GET /metrics',
            'POST /api/autosave/sync/',
          ],
        ],
        [some, ['GET /api/autosave/drafts/', 'GET /health', 'POST /api/autosave/sync/']],
      ] as const) {
        let table: string[] = [];
        const onFastify = await fastifyRoutes(async (app) => {
          await app.register(steadfastPlugin, options);
          table = tableRoutes(app.steadfast.routes);
        });
        const router = createExpressRouter(options);
        expect(table).toEqual(expected);
        expect(onFastify).toEqual(table);
        expect(expressRoutes(router)).toEqual(table);
        await router.close();
      }
    });

    it('the browser script helpers mount the same two routes', async () => {
      const path = '/assets/auto-save-service.js';
      const onFastify = await fastifyRoutes((app) => registerBrowserScript(app, { path }));
      expect(onFastify).toEqual([`GET ${path}`, `GET ${path}.map`]);
      expect(expressRoutes(browserScriptRouter({ path }))).toEqual(onFastify);
    });
  });

  describe('answers', () => {
    const harnesses: Record<'fastify' | 'express', ApiHarness | undefined> = {
      fastify: undefined,
      express: undefined,
    };
    let session: TestSession;

    beforeAll(async () => {
      harnesses.fastify = await fastifyHarness(current(), OPTIONS);
      harnesses.express = await expressHarness(current(), OPTIONS);
      session = await signInAs(
        harnesses.fastify.app,
        await createTestUser(harnesses.fastify.persistence, 'par'),
      );
    });
    afterAll(async () => {
      await harnesses.fastify?.close();
      await harnesses.express?.close();
    });

    /** Each request in turn on each adapter, a client id of its own per adapter; answers side by side. */
    async function both(requests: Array<(clientId: string) => TestRequest>) {
      const answers: Record<string, unknown[]> = {};
      for (const adapter of ['fastify', 'express'] as const) {
        const harness = harnesses[adapter] as ApiHarness;
        const clientId = newClientId();
        answers[adapter] = [];
        for (const request of requests) {
          answers[adapter].push(answerOf(await harness.client.request(request(clientId)), clientId));
        }
      }
      return answers as { fastify: ReturnType<typeof answerOf>[]; express: ReturnType<typeof answerOf>[] };
    }

    it('answers the same status, body and headers to signed-out, refused, bad and good requests', async () => {
      const sync = (body: unknown, extra: Partial<TestRequest> = {}): TestRequest => ({
        method: 'POST',
        url: SYNC,
        body,
        session,
        ...extra,
      });
      const { fastify, express: onExpress } = await both([
        () => ({ url: '/health' }),
        () => ({ url: DRAFTS }),
        () => ({ url: '/api/activity' }),
        () => ({ url: '/api/activity/1' }),
        () => ({ url: `${BASE}?key=product-1&version=1` }),
        (clientId) => sync({ clientId, changes: [change(1)] }, { session: undefined }),
        (clientId) => sync({ clientId, changes: [change(1)] }, { headers: { 'x-csrf-token': 'forged' } }),
        // From here on each sync counts against syncPerMinute (10): the eleventh is refused.
        () => sync({ clientId: 'not-a-uuid', changes: [] }),
        (clientId) => sync({ clientId, changes: [change(1, { data: { text: 'x'.repeat(5000) } })] }),
        () => sync('{}', { headers: { 'content-type': 'text/plain' } }),
        () => sync('{}', { headers: { 'content-type': 'application/json; charset=latin1' } }),
        () => sync('{}', { headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } }),
        () => sync('{"clientId":', { headers: { 'content-type': 'application/json' } }),
        () => sync('', { headers: { 'content-type': 'application/json' } }),
        (clientId) => sync({ clientId, changes: [change(1, { key: 'parity' })] }),
        (clientId) => sync({ clientId, changes: [change(1, { key: 'parity' })] }),
        (clientId) => sync({ clientId, changes: [change(5, { key: 'parity' })] }),
        (clientId) => sync({ clientId, changes: [change(2, { key: 'parity' })] }),
        () => ({ url: `${DRAFTS}?key=parity`, session }),
        () => ({ url: `${DRAFTS}?key=never-saved`, session }),
        () => ({ url: `${DRAFTS}?nope=1`, session }),
        () => ({ url: `${BASE}?key=nothing-here&version=1`, session }),
        () => ({ url: `${BASE}?key=product-1`, session }),
        () => ({ url: '/api/activity?limit=0', session }),
        () => ({ url: '/api/activity/abc', session }),
        () => ({ url: '/api/activity/999999999', session }),
        () => ({ url: '/metrics' }),
        () => ({ url: '/metrics', headers: { authorization: 'Bearer wrong-token-0123456789' } }),
        () => ({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } }),
      ]);
      expect(onExpress).toEqual(fastify);
      // And the answers are the ones meant (a parity of two broken adapters would pass above).
      expect(fastify.map((answer) => answer.status)).toEqual([
        200, 401, 401, 401, 401, 401, 403, 400, 413, 415, 415, 415, 400, 400, 200, 200, 409, 429, 200, 404,
        400, 404, 400, 400, 400, 404, 401, 401, 200,
      ]);
      expect(fastify[1]?.headers['cache-control']).toBe('no-store');
      expect(fastify[15]?.body).toMatchObject({ results: [{ status: 'duplicate' }] });
      expect(fastify[17]?.headers['retry-after']).toBe('<seconds>');
      expect(fastify[26]?.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    });
  });

  it('answers the same 503 with Retry-After to a sync and to /health when the database is gone', async () => {
    const second = await openDatabase(current().url);
    const database = { ...current(), opened: second };
    const onFastify = await fastifyHarness(database);
    const onExpress = await expressHarness(database);
    const dave = await signInAs(onFastify.app, await createTestUser(onFastify.persistence, 'gone'));
    await second.close();
    const answers = [];
    for (const harness of [onFastify, onExpress]) {
      const clientId = newClientId();
      const sync = await harness.client.request({
        method: 'POST',
        url: SYNC,
        session: dave,
        body: { clientId, changes: [change(1)] },
      });
      answers.push([answerOf(sync, clientId), answerOf(await harness.client.request({ url: '/health' }))]);
    }
    await onExpress.close();
    await onFastify.close();
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[0]?.map((answer) => [answer.status, answer.headers['retry-after']])).toEqual([
      [503, '5'],
      [503, '5'],
    ]);
  });

  describe("the app's own sign-in", () => {
    /** `x-user` names the user; the CSRF check is asynchronous, as an app's may be. */
    const authenticate = (headers: Record<string, unknown>): SignedInUser | null =>
      typeof headers['x-user'] === 'string' ? { id: headers['x-user'] } : null;
    const verifyCsrf = async (headers: Record<string, unknown>) => headers['x-app-csrf'] === 'good';
    let fastifyApp: FastifyInstance;
    let expressApp: { client: ApiClient; close(): Promise<void> };
    let router: ReturnType<typeof createExpressRouter>;

    beforeAll(async () => {
      const persistence = createAppPersistence({ db: current().opened.db });
      fastifyApp = Fastify();
      await fastifyApp.register(steadfastPlugin, {
        persistence,
        defaultMetrics: false,
        authenticate: (request) => authenticate(request.headers),
        verifyCsrf: (request) => verifyCsrf(request.headers),
      });
      await fastifyApp.ready();
      router = createExpressRouter({
        persistence,
        defaultMetrics: false,
        authenticate: (request) => authenticate(request.headers),
        verifyCsrf: (request) => verifyCsrf(request.headers),
      });
      expressApp = await listen(router);
    });
    afterAll(async () => {
      await expressApp.close();
      await router.close();
      await fastifyApp.close();
    });

    it('refuses and accepts alike through authenticate and an asynchronous verifyCsrf', async () => {
      const answers: Record<string, unknown[]> = {};
      for (const [adapter, client] of [
        ['fastify', injectClient(fastifyApp)],
        ['express', expressApp.client],
      ] as const) {
        const clientId = newClientId();
        const user = `own-${adapter}-${current().engine}-${process.pid}`;
        const post = (headers: Record<string, string>) =>
          client.request({
            method: 'POST',
            url: SYNC,
            body: { clientId, changes: [change(1, { key: 'own' })] },
            headers,
          });
        answers[adapter] = [
          await post({}),
          await post({ 'x-user': user, 'x-app-csrf': 'bad' }),
          await post({ 'x-user': user, 'x-app-csrf': 'good' }),
          await client.request({ url: `${DRAFTS}?key=own`, headers: { 'x-user': user } }),
        ].map((response) => answerOf(response, clientId));
      }
      expect(answers.express).toEqual(answers.fastify);
      expect((answers.fastify as Array<{ status: number }>).map((answer) => answer.status)).toEqual([
        401, 403, 200, 200,
      ]);
    });
  });
});

describe('adapter parity: the browser script', () => {
  it('is served with the same status, headers and bytes by both helpers', async () => {
    const path = '/assets/auto-save-service.js';
    const app = Fastify();
    registerBrowserScript(app, { path, maxAgeSeconds: 60 });
    await app.ready();
    const onExpress = await listen(browserScriptRouter({ path, maxAgeSeconds: 60 }));
    try {
      for (const url of [path, `${path}.map`]) {
        const fromFastify = await injectClient(app).request({ url });
        const fromExpress = await onExpress.client.request({ url });
        expect(fromFastify.status).toBe(200);
        expect(answerOf(fromExpress)).toEqual(answerOf(fromFastify));
        expect(fromExpress.text).toBe(fromFastify.text);
      }
      expect((await injectClient(app).request({ url: path })).headers).toMatchObject({
        'cache-control': 'public, max-age=60',
        'x-content-type-options': 'nosniff',
      });
    } finally {
      await onExpress.close();
      await app.close();
    }
  });
});
