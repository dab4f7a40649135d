/**
 * Security review, part 3: oversized and deeply nested bodies are refused with 413/400, never a
 * 500; a slow-loris body (headers, then a byte every few seconds) is cut off by the request
 * timeout on a real socket.
 */
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import { buildApp, DEFAULT_REQUEST_TIMEOUT_MS } from '../../../examples/business-app/src/build-app.js';
import { seedDatabase } from '../../../examples/business-app/src/seed.js';
import { SYNC_PATH } from '../../../packages/steadfast/src/protocol/constants.js';
import { createTestDatabase, describeEachDatabase, type TestDatabase } from '../../support/databases.js';
import { useSeededApp } from '../app/app-fixture.js';
import { BrowserLikeClient } from './browser-like-client.js';

const nestedArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const nestedObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describeEachDatabase('security: hostile bodies', (current) => {
  const fixture = useSeededApp(current);
  let demo: BrowserLikeClient;

  beforeAll(async () => {
    demo = new BrowserLikeClient(fixture().app);
    expect((await demo.signIn('demo', 'demo')).statusCode).toBe(303);
  });

  it('answers 413 to an oversized sync body and an oversized form post, with the JSON error', async () => {
    const big = 'x'.repeat(2 * 1024 * 1024);
    const sync = await demo.postJson(SYNC_PATH, {
      clientId: crypto.randomUUID(),
      changes: [{ mutationId: 1, kind: 'form', key: 'k', data: { big }, savedAt: new Date().toISOString() }],
    });
    expect(sync.statusCode).toBe(413);
    expect(sync.json?.error).toBe('payload_too_large');
    await demo.get('/products/new');
    const form = await demo.postForm('/products', { name: big, sku: 'S', price: '1', quantity: '1' });
    expect(form.statusCode).toBe(413);
  });

  it('answers 400 to deeply nested JSON, never 500', async () => {
    const statuses: Record<string, number> = {};
    for (const [name, body] of [
      ['array 100k', nestedArray(100_000)],
      ['object 50k', nestedObject(50_000)],
      [
        'data 64',
        JSON.stringify({ clientId: crypto.randomUUID(), changes: [] }).replace('[]', nestedArray(64)),
      ],
      [
        'change data 64',
        JSON.stringify({
          clientId: crypto.randomUUID(),
          changes: [{ mutationId: 1, kind: 'form', key: 'k', data: {}, savedAt: new Date().toISOString() }],
        }).replace('"data":{}', `"data":${nestedObject(64)}`),
      ],
    ] as const) {
      statuses[name] = (await demo.postJson(SYNC_PATH, body)).statusCode;
    }
    expect(statuses).toEqual({ 'array 100k': 400, 'object 50k': 400, 'data 64': 400, 'change data 64': 400 });
    // A page route given nested JSON instead of a form: refused, not a crash.
    await demo.get('/products/new');
    const page = await demo.send('POST', '/products', {
      body: nestedObject(50_000),
      headers: { 'content-type': 'application/json', 'x-csrf-token': demo.csrfToken ?? '' },
    });
    expect(page.statusCode).toBeGreaterThanOrEqual(400);
    expect(page.statusCode).toBeLessThan(500);
  });

  it('refuses prototype-polluting keys with 400', async () => {
    const body = `{"clientId":"${crypto.randomUUID()}","changes":[{"mutationId":1,"kind":"form","key":"k","data":{"__proto__":{"x":1}},"savedAt":"${new Date().toISOString()}"}]}`;
    expect((await demo.postJson(SYNC_PATH, body)).statusCode).toBe(400);
  });
});

describe('security: slow-loris bodies', () => {
  let database: TestDatabase & { drop(): Promise<void> };
  let app: FastifyInstance;
  let port: number;
  const TIMEOUT_MS = 2000;

  beforeAll(async () => {
    database = await createTestDatabase('sqlite');
    ({ app } = await buildApp({
      database: database.opened,
      sessionSecret: 'slow-loris-session-secret-long-enough-000',
      requestTimeoutMs: TIMEOUT_MS,
    }));
    await seedDatabase(createAppPersistence({ db: database.opened.db }), {
      demoData: false,
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    port = typeof address === 'object' && address ? address.port : 0;
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('has a request timeout by default (Fastify’s default is none)', async () => {
    const fresh = await createTestDatabase('sqlite');
    try {
      const built = await buildApp({ database: fresh.opened, sessionSecret: 'x'.repeat(40) });
      expect(built.app.server.requestTimeout).toBe(DEFAULT_REQUEST_TIMEOUT_MS);
      expect(DEFAULT_REQUEST_TIMEOUT_MS).toBeGreaterThan(0);
      expect(DEFAULT_REQUEST_TIMEOUT_MS).toBeLessThanOrEqual(60_000);
      await built.app.close();
    } finally {
      await fresh.drop();
    }
  });

  it('closes a connection whose body trickles in a byte every 700 ms, within the timeout', async () => {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    const started = Date.now();
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
    });
    socket.on('error', () => {});
    const closed = new Promise<number>((resolve) =>
      socket.once('close', () => resolve(Date.now() - started)),
    );
    socket.write(
      `POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000\r\n\r\n`,
    );
    const trickle = setInterval(() => {
      if (!socket.destroyed) socket.write('a');
    }, 700);
    const elapsed = await Promise.race([
      closed,
      new Promise<number>((resolve) => setTimeout(() => resolve(-1), 15_000)),
    ]);
    clearInterval(trickle);
    socket.destroy();
    expect(elapsed, 'the server kept the slow connection open for 15 s').toBeGreaterThan(0);
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 3000);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });
});
