/**
 * Fuzzing the sync endpoint with fast-check: wrong types, huge strings, deep nesting, `__proto__`
 * keys, unicode, broken JSON. No body may produce a 5xx, and a rejected body must leave the
 * database exactly as it was. 5,000 bodies on SQLite; 1,000 on PostgreSQL to keep the run short
 * (each pg round trip costs more, and the generator is the same).
 */
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import { describeEachDatabase } from '../../support/databases.js';
import { anyChange, anyScalar, hostileString } from '../../support/fuzz-arbitraries.js';
import {
  buildTestApp,
  createTestUser,
  NO_SYNC_LIMITS,
  signInAs,
  syncTablesChecksum,
  type TestSession,
} from '../../support/http-fixtures.js';

const RUNS = { sqlite: 5000, postgres: 1000 } as const;

const objectBody = fc.record(
  {
    clientId: fc.oneof(fc.uuid(), hostileString, anyScalar),
    changes: fc.oneof(fc.array(anyChange, { maxLength: 6 }), anyScalar, fc.jsonValue({ maxDepth: 2 })),
    __proto__: fc.jsonValue({ maxDepth: 2 }),
    other: anyScalar,
  },
  { requiredKeys: [] },
);

/** Bodies as raw text: JSON of the objects above, plus texts no JSON parser accepts or that nest deeply. */
const body = fc.oneof(
  { weight: 6, arbitrary: objectBody.map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1, max: 20_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
  },
  {
    weight: 1,
    arbitrary: fc
      .uuid()
      .map(
        (clientId) =>
          `{"clientId":"${clientId}","changes":[{"mutationId":1,"kind":"form","key":"k","data":{"__proto__":{"polluted":true}},"savedAt":"${new Date().toISOString()}"}]}`,
      ),
  },
);

describeEachDatabase('sync endpoint fuzz', (current) => {
  let app: FastifyInstance;
  let session: TestSession;

  beforeAll(async () => {
    // This file tests input handling, not durability: without an fsync per commit, 5,000 bodies
    // fit in the time budget.
    if (current().engine === 'sqlite') await sql`pragma synchronous = off`.execute(current().opened.db);
    const persistence = createAppPersistence({ db: current().opened.db });
    app = await buildTestApp(current(), { persistence, limits: NO_SYNC_LIMITS });
    session = await signInAs(app, await createTestUser(persistence, 'fuzz'));
  });
  afterAll(async () => {
    await app.close();
  });

  const fingerprint = () => syncTablesChecksum(current().opened.db);

  it('never answers 5xx, and a rejected body changes nothing', { timeout: 120_000 }, async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        body,
        fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain'),
        async (payload, type) => {
          const before = await fingerprint();
          const response = await app.inject({
            method: 'POST',
            url: '/api/autosave/sync/',
            headers: { cookie: session.cookie, 'x-csrf-token': session.csrf, 'content-type': type },
            payload,
          });
          statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
          expect(response.statusCode, response.body).toBeLessThan(500);
          const json = JSON.parse(response.body) as { error?: string; message?: string };
          if (response.statusCode !== 200) {
            expect(typeof json.error).toBe('string');
            expect(typeof json.message).toBe('string');
            expect(await fingerprint()).toBe(before);
          }
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        },
      ),
      { numRuns: RUNS[current().engine], seed: 4242 },
    );
    console.info(`sync fuzz [${current().engine}]: statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    // The generator must reach the valid path too, or it proves little.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
  });
});
