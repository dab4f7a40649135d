/**
 * Fuzzing the sync endpoint with fast-check: wrong types, huge strings, deep nesting, `__proto__`
 * keys, unicode, broken JSON. No body may produce a 5xx, and a rejected body must leave the
 * database exactly as it was. 5,000 bodies on SQLite; 1,000 on PostgreSQL to keep the run short
 * (each pg round trip costs more, and the generator is the same).
 *
 * Then the same bodies, and as many valid ones, on both adapters behind an `authorize` hook that
 * refuses everything: every body that would write is answered 403 `forbidden`, none is applied, and
 * every table (full dumps, before and after each request) is left exactly as it was.
 */
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import { describeEachDatabase } from '../../support/databases.js';
import { anyChange, anyScalar, hostileString } from '../../support/fuzz-arbitraries.js';
import {
  type ApiHarness,
  buildTestApp,
  createTestUser,
  expressHarness,
  fastifyHarness,
  NO_SYNC_LIMITS,
  signInAs,
  syncTablesChecksum,
  type TestSession,
} from '../../support/http-fixtures.js';
import { dumpTables } from '../../support/table-dump.js';

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

const REFUSED_RUNS = { sqlite: 600, postgres: 200 } as const;

/** Bodies the schema accepts, with one to four changes to apply: each must reach the hook. */
const validBody = fc
  .record({
    clientId: fc.uuid(),
    changes: fc.array(
      fc.record({
        kind: fc.constantFrom('form', 'state'),
        key: fc.oneof(
          fc.constantFrom('product-new', 'product-1', 'ui/panel', 'k.1'),
          fc.stringMatching(/^[A-Za-z0-9_.:/-]{1,40}$/),
        ),
        data: fc.oneof(fc.constant(null), fc.jsonValue({ maxDepth: 3 })),
        baseVersion: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
        savedAt: fc.constant(new Date().toISOString()),
      }),
      { minLength: 1, maxLength: 4 },
    ),
  })
  .map(({ clientId, changes }) => ({
    clientId,
    changes: changes.map((change, index) => ({ ...change, mutationId: index + 1 })),
  }));

describeEachDatabase('sync endpoint fuzz, behind a hook that refuses everything', (current) => {
  for (const [adapter, makeHarness] of Object.entries({ fastify: fastifyHarness, express: expressHarness })) {
    describe(`over ${adapter}`, () => {
      let harness: ApiHarness;
      let session: TestSession;
      let asked = 0;

      beforeAll(async () => {
        if (current().engine === 'sqlite') await sql`pragma synchronous = off`.execute(current().opened.db);
        harness = await makeHarness(
          current(),
          { limits: NO_SYNC_LIMITS },
          {
            authorize: (request) => {
              asked += 1;
              // The test's own sign-in creates its user; every sync is refused.
              return request.action !== 'sync' && request.actor.actor === 'system';
            },
          },
        );
        session = await signInAs(harness.app, await createTestUser(harness.persistence, 'refused'));
        asked = 0;
      });
      afterAll(async () => {
        await harness.close();
      });

      it('answers 403 to every body that would write, and no table changes', {
        timeout: 180_000,
      }, async () => {
        const statuses = new Map<number, number>();
        const anyBody = fc.oneof(
          { weight: 1, arbitrary: body.map((text) => ({ text, valid: false })) },
          { weight: 1, arbitrary: validBody.map((value) => ({ text: JSON.stringify(value), valid: true })) },
        );
        await fc.assert(
          fc.asyncProperty(anyBody, async ({ text, valid }) => {
            const before = await dumpTables(current().opened.db);
            const response = await harness.client.request({
              method: 'POST',
              url: '/api/autosave/sync/',
              session,
              headers: { 'content-type': 'application/json' },
              body: text,
            });
            statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
            expect(response.status, response.text).toBeLessThan(500);
            if (valid)
              expect(response.json, text).toEqual({ error: 'forbidden', message: expect.any(String) });
            // Only a batch with nothing to apply (it asks for lastMutationId) is answered 200.
            if (response.status === 200) expect(response.json.synced, text).toBe(0);
            else expect(typeof response.json?.error, response.text).toBe('string');
            expect(await dumpTables(current().opened.db)).toEqual(before);
          }),
          { numRuns: REFUSED_RUNS[current().engine], seed: 4343 },
        );
        console.info(
          `refused sync fuzz [${current().engine}, ${adapter}]: statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
        );
        expect(statuses.get(403) ?? 0).toBeGreaterThan(0);
        expect(asked).toBeGreaterThanOrEqual(statuses.get(403) ?? 0);
      });
    });
  }
});
