/**
 * `/metrics` by option, on both adapters: off by default, behind a bearer token, or on a listener
 * of its own (the app's routes then have none), with the token checked there too when given.
 */
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import { createExpressRouter } from '../../../packages/steadfast/src/http/index.js';
import { describeEachDatabase } from '../../support/databases.js';
import {
  buildTestApp,
  expressHarness,
  fastifyHarness,
  injectClient,
  TEST_SECRET,
} from '../../support/http-fixtures.js';

const TOKEN = 'metrics-token-for-the-test-0123';

/** A port free a moment ago (the listener binds it right after). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describeEachDatabase('/metrics access', (current) => {
  const closers: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const close of closers) await close();
  });

  for (const [adapter, makeHarness] of Object.entries({ fastify: fastifyHarness, express: expressHarness })) {
    it(`is off by default over ${adapter}`, async () => {
      const harness = await makeHarness(current());
      closers.push(() => harness.close());
      const response = await harness.client.request({ url: '/metrics' });
      expect(response.status).toBe(404);
      expect(response.text).not.toContain('steadfast_');
    });
  }

  it('serves Prometheus text on a listener of its own, with the token when one is given (Fastify)', async () => {
    const port = await freePort();
    const app = await buildTestApp(current(), {
      persistence: createAppPersistence({ db: current().opened.db }),
      metrics: { listen: { port }, token: TOKEN },
    });
    closers.push(() => app.close());
    expect((await injectClient(app).request({ url: '/metrics' })).status).toBe(404);
    const refused = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    const scraped = await fetch(`http://127.0.0.1:${port}/metrics`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('steadfast_http_requests_total');
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    await app.close();
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });

  it('serves it on a listener of its own without a token, closed by router.close() (Express)', async () => {
    const port = await freePort();
    const router = createExpressRouter({
      persistence: createAppPersistence({ db: current().opened.db }),
      sessionSecret: TEST_SECRET,
      metrics: { listen: { port, host: '127.0.0.1' } },
    });
    // The router starts it at once; give it a moment to bind.
    let scraped: Response | undefined;
    for (let attempt = 0; attempt < 50 && !scraped; attempt += 1) {
      scraped = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
      if (!scraped) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(scraped?.status).toBe(200);
    expect(await scraped?.text()).toContain('steadfast_http_requests_total');
    await router.close();
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });
});

describe('metrics options', () => {
  it('refuses a short token and an empty metrics object at start', async () => {
    const { parseSteadfastOptions } = await import('../../../packages/steadfast/src/http/index.js');
    const base = { persistence: { autoSave() {}, context: {}, db: {} }, sessionSecret: 'x'.repeat(32) };
    expect(() => parseSteadfastOptions({ ...base, metrics: { token: 'short' } })).toThrow(/metrics\.token/);
    expect(() => parseSteadfastOptions({ ...base, metrics: {} })).toThrow(/metrics/);
    expect(parseSteadfastOptions(base).metrics).toBe(false);
  });
});
