/**
 * Fuzzing query strings and form bodies with fast-check, through real HTTP (`inject`): the API's
 * GET /api/activity, GET /api/autosave/drafts/ and GET /api/autosave/base/, and the business app's
 * pages and forms (the product merge form too). Wrong
 * types, repeated keys (`?page=1&page=2` reads as an array), missing and empty fields, `__proto__`,
 * unicode, NUL, very long strings, numbers as text ('1e309', '9007199254740993', '0x10').
 *
 * No input may produce a 5xx. The API answers a 4xx with a JSON `{error, message}`; a rejected
 * form (status ≥ 400) leaves products, settings and the activity log exactly as they were. 800
 * inputs a property on SQLite, 300 on PostgreSQL (each pg round trip costs more; the generators
 * are the same).
 *
 * Then every write form of the app posted by the seed's viewer, whom the demo's `authorize` rule
 * (roles.ts) refuses every record write: no post succeeds, and every table (full dumps, sessions
 * aside) is left as it was but for the refusals the log records. 300 inputs on SQLite, 100 on
 * PostgreSQL.
 */
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import { ACTIVITY_MODELS } from '../../../examples/business-app/src/routes/activity-routes.js';
import { CURRENCIES, PAGE_SIZES, THEMES } from '../../../examples/business-app/src/settings.js';
import { ACTIVITY_PATH } from '../../../packages/steadfast/src/http/route-table.js';
import { ACTIVITY_ACTIONS } from '../../../packages/steadfast/src/persistence/index.js';
import { BASE_PATH, DRAFTS_PATH } from '../../../packages/steadfast/src/protocol/constants.js';
import { baseResponseSchema } from '../../../packages/steadfast/src/protocol/sync.js';
import { describeEachDatabase } from '../../support/databases.js';
import { isoDateTime } from '../../support/fuzz-arbitraries.js';
import {
  buildTestApp,
  change,
  createTestUser,
  NO_SYNC_LIMITS,
  newClientId,
  signInAs,
  type TestSession,
} from '../../support/http-fixtures.js';
import { dumpTables, expectOnlyRefusalsAdded, type TableDump } from '../../support/table-dump.js';
import { useSeededApp } from '../app/app-fixture.js';
import { PageClient } from '../app/page-client.js';

const RUNS = { sqlite: 800, postgres: 300 } as const;
const TIMEOUT = { timeout: 120_000 };
/** Keys the API user has drafts under (synced before the run), so `?key=` can find one. */
const DRAFT_KEYS = ['product-new', 'ui/panel', 'k.1'] as const;

// ---- Generators (the strings of sync-fuzz, as text) ------------------------------------------

const nasty = fc.oneof(
  { weight: 2, arbitrary: fc.string({ maxLength: 50, unit: 'grapheme' }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 50, unit: 'binary' }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      '',
      ' ',
      '\u0000',
      '𝕏',
      'product-1',
      '../etc',
      '%',
      '%00',
      '&=+',
      '<script>',
    ),
  },
  // A NUL inside ordinary text: SQLite stores it, PostgreSQL refuses it in any text parameter.
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }))
      .map(([before, after]) => `${before}\u0000${after}`),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }).map((n) => 'ü'.repeat(n * 10)) },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(5000), '9'.repeat(400)) },
);

const numberText = fc.oneof(
  fc.constantFrom(
    '-1',
    '0',
    '1',
    '2',
    '1e309',
    '-1e309',
    '9007199254740993',
    '0x10',
    '1.5',
    '-0',
    'NaN',
    'Infinity',
    ' 1 ',
    '01',
    '2147483647',
    '2147483648',
    '9999999999999999',
    '99999999999999999999',
  ),
  fc.integer({ min: -5, max: 50 }).map(String),
  fc.double().map(String),
  fc.nat().map(String),
);

/** What a person may type in a free-text field: any code points, control characters included. */
const freeText = fc.oneof(
  fc.string({ maxLength: 100 }),
  fc.string({ maxLength: 100, unit: 'binary' }),
  fc.string({ maxLength: 20, unit: 'binary' }).map((value) => `${value}\u0000`),
);

const text = fc.oneof({ weight: 2, arbitrary: nasty }, { weight: 1, arbitrary: numberText });

/** One field's value as sent: a text, or the key repeated (an array where a scalar is expected). */
type Value = string | readonly string[];
const anyValue: fc.Arbitrary<Value> = fc.oneof(
  { weight: 5, arbitrary: text },
  { weight: 1, arbitrary: fc.array(text, { minLength: 2, maxLength: 3 }) },
);

/** Stands for "the version stored now", read just before the request, so saves can succeed. */
const CURRENT = Symbol('current version');
type FieldValue = Value | typeof CURRENT | undefined;

/** Mostly a valid value, often a hostile one, sometimes absent (undefined: the field is left out). */
function either(valid: fc.Arbitrary<string>): fc.Arbitrary<FieldValue> {
  return fc.oneof(
    { weight: 6, arbitrary: valid },
    { weight: 2, arbitrary: anyValue },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

/** A version field: usually the current one, else hostile or absent. */
const versionField: fc.Arbitrary<FieldValue> = fc.oneof(
  { weight: 6, arbitrary: fc.constant(CURRENT) },
  { weight: 2, arbitrary: anyValue },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

type Pairs = ReadonlyArray<readonly [string, FieldValue]>;

/** Keys no route reads, some of them dangerous as object keys. */
const extraPairs: fc.Arbitrary<Pairs> = fc.array(
  fc.tuple(fc.constantFrom('__proto__', 'constructor', 'toString', 'x', 'q[]', 'a.b', ''), anyValue),
  { minLength: 1, maxLength: 2 },
);

/** The given fields (each valid, hostile or absent), plus now and then keys nobody reads. */
function fieldsOf(spec: Record<string, fc.Arbitrary<FieldValue>>): fc.Arbitrary<Pairs> {
  return fc
    .tuple(
      fc.record(spec),
      fc.oneof({ weight: 5, arbitrary: fc.constant<Pairs>([]) }, { weight: 1, arbitrary: extraPairs }),
    )
    .map(([record, extra]): Pairs => [...Object.entries(record), ...extra]);
}

/** urlencoded text of the pairs; absent fields are left out, arrays repeat their key. */
function encode(pairs: Pairs, resolve: (key: string) => string = () => '0'): string {
  const params = new URLSearchParams();
  for (const [key, value] of pairs) {
    if (value === undefined) continue;
    if (value === CURRENT) params.append(key, resolve(key));
    else for (const item of typeof value === 'string' ? [value] : value) params.append(key, item);
  }
  return params.toString();
}

function withQuery(path: string, pairs: Pairs): string {
  const query = encode(pairs);
  return query ? `${path}?${query}` : path;
}

function encodeSegment(raw: string): string {
  try {
    return encodeURIComponent(raw);
  } catch {
    return 'lone%EF%BF%BDsurrogate';
  }
}

/** A path segment: a valid one, any text (encoded), or a malformed escape sent as is. */
function segment(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: valid },
    { weight: 3, arbitrary: text.map(encodeSegment) },
    { weight: 1, arbitrary: fc.constantFrom('%', '%E0%A4', '%2F', '..', '%00', '%20', '') },
  );
}

const isoDate = fc.oneof(
  isoDateTime.map((value) => value.slice(0, 10)),
  fc.constantFrom('9999-12-31', '0000-01-01', '2024-02-30', '2023-02-29'),
);
const cursorText = fc.oneof(
  fc.integer({ min: 1, max: 10_000 }).map(String),
  fc.constantFrom('9999999999999999'),
);

/** The CSRF field of a form: nearly always the page's token, else missing, wrong or repeated. */
type CsrfChoice = 'valid' | 'missing' | 'garbage' | 'twice' | 'empty';
const csrfChoice: fc.Arbitrary<CsrfChoice> = fc.oneof(
  { weight: 16, arbitrary: fc.constant<CsrfChoice>('valid') },
  { weight: 1, arbitrary: fc.constantFrom<CsrfChoice>('missing', 'garbage', 'twice', 'empty') },
);

function csrfPairs(choice: CsrfChoice, token: string): Pairs {
  switch (choice) {
    case 'valid':
      return [['_csrf', token]];
    case 'missing':
      return [];
    case 'garbage':
      return [['_csrf', `${token}x`]];
    case 'twice':
      return [['_csrf', [token, token]]];
    case 'empty':
      return [['_csrf', '']];
  }
}

/** A form POST as `page`'s signed-in user, with its CSRF token sent as `csrf` says; the payload beside the answer. */
async function postForm(
  app: FastifyInstance,
  page: PageClient,
  url: string,
  pairs: Pairs,
  csrf: CsrfChoice,
  resolve?: (key: string) => string,
) {
  const payload = encode([...csrfPairs(csrf, page.csrfToken ?? ''), ...pairs], resolve);
  const response = await app.inject({
    method: 'POST',
    url,
    headers: {
      accept: 'text/html',
      cookie: page.cookieHeader,
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload,
  });
  return { response, payload };
}

/** A product form's fields, each valid, hostile or absent. */
const productFields = () => ({
  sku: either(fc.uuid().map((uuid) => `FZ-${uuid.slice(0, 8)}`)),
  name: either(fc.constantFrom('Fuzz desk', 'Ünïcode <b>chair</b>', 'x')),
  description: either(freeText),
  price: either(fc.constantFrom('1', '12.50', '0.01', '9999999999.99')),
  quantity: either(fc.constantFrom('0', '5', '1000000000')),
  category: either(fc.constantFrom('', 'Office', 'Fuzz')),
  active: either(fc.constant('on')),
});

type Tally = Map<string, number>;
function tally(statuses: Tally, status: number): void {
  const key = String(status);
  statuses.set(key, (statuses.get(key) ?? 0) + 1);
}
const countOf = (statuses: Tally, test: (status: number) => boolean): number =>
  [...statuses].filter(([status]) => test(Number(status))).reduce((sum, [, n]) => sum + n, 0);

// ---- The suite ----------------------------------------------------------------------------------

describeEachDatabase('query-string and form-body fuzz', (current) => {
  const fixture = useSeededApp(current);
  let api: FastifyInstance;
  let session: TestSession;
  let page: PageClient;
  let productIds: string[];
  let demoUserId: number;

  beforeAll(async () => {
    const { db } = current().opened;
    // This file tests input handling, not durability: no fsync per commit.
    if (current().engine === 'sqlite') await sql`pragma synchronous = off`.execute(db);
    const persistence = createAppPersistence({ db });
    api = await buildTestApp(current(), { persistence, limits: NO_SYNC_LIMITS });
    session = await signInAs(api, await createTestUser(persistence, 'qfuzz'));
    const synced = await api.inject({
      method: 'POST',
      url: '/api/autosave/sync/',
      headers: {
        cookie: session.cookie,
        'x-csrf-token': session.csrf,
        'content-type': 'application/json',
      },
      payload: JSON.stringify({
        clientId: newClientId(),
        changes: DRAFT_KEYS.map((key, index) => change(index + 1, { key })),
      }),
    });
    expect(synced.statusCode, synced.body).toBe(200);

    page = new PageClient(fixture().app);
    await page.signIn('demo', 'demo');
    expect((await page.get('/products')).statusCode).toBe(200);
    expect(page.csrfToken).toBeTruthy();
    const rows = await db.selectFrom('products').select('id').orderBy('id').limit(3).execute();
    productIds = rows.map((row) => String(row.id));
    expect(productIds.length).toBeGreaterThan(0);
    demoUserId = fixture().demoUserId;
  });
  afterAll(async () => {
    await api?.close();
  });

  const numRuns = () => RUNS[current().engine];

  /** What a rejected write must not change: row counts, version sums, the log's length and head. */
  async function fingerprint(): Promise<string> {
    const result = await sql<Record<string, unknown>>`select
      (select count(*) from products) as products,
      (select coalesce(sum(version), 0) from products) as product_versions,
      (select count(*) from settings) as settings,
      (select coalesce(sum(version), 0) from settings) as setting_versions,
      (select count(*) from steadfast_activity_log) as log,
      (select coalesce(max(id), 0) from steadfast_activity_log) as log_max`.execute(current().opened.db);
    return JSON.stringify(result.rows[0], (_key, value) =>
      typeof value === 'bigint' ? Number(value) : value,
    );
  }

  /** An API GET as the signed-in test user: never 5xx, always JSON, `{error, message}` on a 4xx. */
  async function apiGet(url: string, statuses: Tally): Promise<{ status: number; body: string }> {
    const response = await api.inject({ method: 'GET', url, headers: { cookie: session.cookie } });
    tally(statuses, response.statusCode);
    expect(response.statusCode, `GET ${url} → ${response.body.slice(0, 300)}`).toBeLessThan(500);
    const json = JSON.parse(response.body) as { error?: unknown; message?: unknown };
    if (response.statusCode >= 400) {
      expect(typeof json.error, response.body).toBe('string');
      expect(typeof json.message, response.body).toBe('string');
    } else {
      expect(response.statusCode).toBe(200);
    }
    return { status: response.statusCode, body: response.body };
  }

  async function pageGet(url: string, statuses: Tally): Promise<void> {
    const response = await page.get(url);
    tally(statuses, response.statusCode);
    expect(response.statusCode, `GET ${url} → ${response.body.slice(0, 300)}`).toBeLessThan(500);
  }

  /** Posts a form as the signed-in demo user; a rejected one must leave the tables as they were. */
  async function pagePost(
    url: string,
    pairs: Pairs,
    csrf: CsrfChoice,
    statuses: Tally,
    resolve?: (key: string) => string,
  ): Promise<{ statusCode: number; body: string }> {
    const before = await fingerprint();
    const { response, payload } = await postForm(fixture().app, page, url, pairs, csrf, resolve);
    tally(statuses, response.statusCode);
    expect(
      response.statusCode,
      `POST ${url} ${payload.slice(0, 300)} → ${response.body.slice(0, 300)}`,
    ).toBeLessThan(500);
    if (response.statusCode >= 400) {
      expect(await fingerprint(), `rejected POST ${url} ${payload.slice(0, 300)} changed the database`).toBe(
        before,
      );
    }
    return { statusCode: response.statusCode, body: response.body };
  }

  function report(name: string, statuses: Tally): void {
    const sorted = Object.fromEntries([...statuses].sort(([a], [b]) => Number(a) - Number(b)));
    console.info(`${name} [${current().engine}]: statuses ${JSON.stringify(sorted)}`);
  }

  describe('inputs this fuzz found answering 500 on PostgreSQL', () => {
    it('a NUL in an API text filter or draft key is a 400 that says so', async () => {
      for (const url of [
        `${ACTIVITY_PATH}?actor=%00`,
        `${ACTIVITY_PATH}?objectId=a%00b`,
        `${ACTIVITY_PATH}?model=Product%00`,
        `${DRAFTS_PATH}?key=product-new%00`,
      ]) {
        const response = await api.inject({ method: 'GET', url, headers: { cookie: session.cookie } });
        expect(response.statusCode, `${url} → ${response.body}`).toBe(400);
        expect(response.json()).toMatchObject({
          error: 'invalid_request',
          message: expect.stringContaining('NUL'),
        });
      }
    });

    it('a NUL in the product search finds nothing; in an activity filter the filter is dropped', async () => {
      const search = await page.get('/products?q=desk%00');
      expect(search.statusCode).toBe(200);
      expect(search.body).not.toMatch(/href="\/products\/\d+\/edit"/);
      const activity = await page.get('/activity?actor=%00');
      expect(activity.statusCode).toBe(200);
    });

    it('a product id or version beyond a 32-bit integer is not found, and a POST to one changes nothing', async () => {
      const statuses: Tally = new Map();
      const [id] = productIds;
      for (const url of [
        '/products/2147483648/edit',
        '/products/2147483648/history',
        '/products/9007199254740991/revert/1',
        `/products/${id}/revert/2147483648`,
      ]) {
        expect((await page.get(url)).statusCode, url).toBe(404);
      }
      const edit = await pagePost(
        '/products/2147483648',
        [
          ['sku', 'BIG-1'],
          ['name', 'Big'],
          ['price', '1'],
          ['quantity', '1'],
          ['version', '1'],
        ],
        'valid',
        statuses,
      );
      expect(edit.statusCode).toBe(404);
      const revert = await pagePost(
        `/products/${id}/revert/2147483648`,
        [['expectedVersion', '1']],
        'valid',
        statuses,
      );
      expect(revert.statusCode).toBe(404);
    });

    it('a NUL in a product description is a 422 naming the field, and saves nothing', async () => {
      const statuses: Tally = new Map();
      const fields: Pairs = [
        ['sku', 'NUL-1'],
        ['name', 'Nul desk'],
        ['price', '1'],
        ['quantity', '1'],
        ['description', 'before\u0000after'],
      ];
      const response = await pagePost('/products', fields, 'valid', statuses);
      expect(response.statusCode).toBe(422);
      expect(response.body).toContain('Description must not contain NUL characters');
    });
  });

  describe('API query strings', () => {
    it(`GET ${ACTIVITY_PATH}: never 5xx, JSON errors`, TIMEOUT, async () => {
      const statuses: Tally = new Map();
      const query = fieldsOf({
        model: either(fc.constantFrom('Product', 'Setting', 'User', 'Draft')),
        objectId: either(fc.constantFrom('1', '2', 'app.currency')),
        actor: either(fc.constantFrom('seed', 'system', '1')),
        action: either(fc.constantFrom(...ACTIVITY_ACTIONS)),
        from: either(isoDateTime),
        to: either(isoDateTime),
        cursor: either(cursorText),
        limit: either(fc.integer({ min: 1, max: 200 }).map(String)),
      });
      await fc.assert(
        fc.asyncProperty(query, async (pairs) => {
          await apiGet(withQuery(ACTIVITY_PATH, pairs), statuses);
        }),
        { numRuns: numRuns(), seed: 4243 },
      );
      report('api activity', statuses);
      expect(statuses.get('200') ?? 0).toBeGreaterThan(0);
      expect(statuses.get('400') ?? 0).toBeGreaterThan(0);
    });

    it(`GET ${DRAFTS_PATH}?key=: never 5xx, JSON errors`, TIMEOUT, async () => {
      const statuses: Tally = new Map();
      const query = fieldsOf({ key: either(fc.constantFrom(...DRAFT_KEYS, 'no-such-key')) });
      await fc.assert(
        fc.asyncProperty(query, async (pairs) => {
          await apiGet(withQuery(DRAFTS_PATH, pairs), statuses);
        }),
        { numRuns: numRuns(), seed: 4244 },
      );
      report('api drafts', statuses);
      expect(statuses.get('200') ?? 0).toBeGreaterThan(0);
      expect(statuses.get('400') ?? 0).toBeGreaterThan(0);
      expect(statuses.get('404') ?? 0).toBeGreaterThan(0);
    });

    it(
      `GET ${BASE_PATH}?key=&version=: never 5xx, JSON errors, a 200 in the protocol's shape with no secret`,
      TIMEOUT,
      async () => {
        const statuses: Tally = new Map();
        const keys = [
          ...productIds.map((id) => `product-${id}`),
          `user-${session.user.id}`,
          `user-${demoUserId}`,
          'product-999999999',
          'product-0',
          ...DRAFT_KEYS,
        ];
        const query = fieldsOf({
          key: either(fc.constantFrom(...keys)),
          version: either(fc.oneof(fc.integer({ min: 0, max: 4 }).map(String), numberText)),
        });
        await fc.assert(
          fc.asyncProperty(query, async (pairs) => {
            const url = withQuery(BASE_PATH, pairs);
            const { status, body } = await apiGet(url, statuses);
            if (status !== 200) return;
            expect(baseResponseSchema.safeParse(JSON.parse(body)).success, `${url} → ${body}`).toBe(true);
            expect(body, url).not.toContain('password_hash');
          }),
          { numRuns: numRuns(), seed: 4251 },
        );
        report('api base', statuses);
        for (const status of ['200', '400', '403', '404']) {
          expect(statuses.get(status) ?? 0, status).toBeGreaterThan(0);
        }
      },
    );
  });

  describe('page query strings and path segments', () => {
    it('GET /products?q=&page=: never 5xx', TIMEOUT, async () => {
      const statuses: Tally = new Map();
      const query = fieldsOf({
        q: either(fc.constantFrom('desk', 'Espresso', '50%', '_', '!', 'ü')),
        page: either(fc.integer({ min: 0, max: 5 }).map(String)),
      });
      await fc.assert(
        fc.asyncProperty(query, (pairs) => pageGet(withQuery('/products', pairs), statuses)),
        { numRuns: numRuns(), seed: 4245 },
      );
      report('products list', statuses);
      expect(statuses.get('200') ?? 0).toBeGreaterThan(0);
    });

    it('GET /activity with its filters: never 5xx', TIMEOUT, async () => {
      const statuses: Tally = new Map();
      const query = fieldsOf({
        model: either(fc.constantFrom(...ACTIVITY_MODELS)),
        actor: either(fc.constantFrom('seed', 'system', String(demoUserId))),
        action: either(fc.constantFrom(...ACTIVITY_ACTIONS)),
        from: either(isoDate),
        to: either(isoDate),
        cursor: either(cursorText),
      });
      await fc.assert(
        fc.asyncProperty(query, (pairs) => pageGet(withQuery('/activity', pairs), statuses)),
        { numRuns: numRuns(), seed: 4246 },
      );
      report('activity page', statuses);
      expect(statuses.get('200') ?? 0).toBeGreaterThan(0);
    });

    it(
      '/products/:id/history, /edit, /revert/:version (GET and POST): never 5xx, a rejected revert changes nothing',
      TIMEOUT,
      async () => {
        const statuses: Tally = new Map();
        const request = fc.record({
          kind: fc.constantFrom('history', 'edit', 'revert', 'revert-post'),
          id: segment(fc.constantFrom(...productIds)),
          version: segment(fc.integer({ min: 0, max: 4 }).map(String)),
          query: fieldsOf({ cursor: either(cursorText) }),
          body: fieldsOf({ expectedVersion: versionField }),
          csrf: csrfChoice,
        });
        await fc.assert(
          fc.asyncProperty(request, async ({ kind, id, version, query, body, csrf }) => {
            if (kind === 'history') return pageGet(withQuery(`/products/${id}/history`, query), statuses);
            if (kind === 'edit') return pageGet(`/products/${id}/edit`, statuses);
            if (kind === 'revert') return pageGet(`/products/${id}/revert/${version}`, statuses);
            const stored = productIds.includes(id)
              ? await current()
                  .opened.db.selectFrom('products')
                  .select('version')
                  .where('id', '=', Number(id))
                  .executeTakeFirst()
              : undefined;
            await pagePost(`/products/${id}/revert/${version}`, body, csrf, statuses, () =>
              String(stored?.version ?? 1),
            );
          }),
          { numRuns: numRuns(), seed: 4247 },
        );
        report('product paths', statuses);
        expect(statuses.get('200') ?? 0).toBeGreaterThan(0);
        expect(statuses.get('404') ?? 0).toBeGreaterThan(0);
      },
    );
  });

  describe('form bodies', () => {
    it('POST /products: never 5xx, a rejected form changes nothing', TIMEOUT, async () => {
      const statuses: Tally = new Map();
      await fc.assert(
        fc.asyncProperty(fieldsOf(productFields()), csrfChoice, async (pairs, csrf) => {
          await pagePost('/products', pairs, csrf, statuses);
        }),
        { numRuns: numRuns(), seed: 4248 },
      );
      report('product create', statuses);
      expect(statuses.get('303') ?? 0).toBeGreaterThan(0);
      expect(statuses.get('422') ?? 0).toBeGreaterThan(0);
    });

    it('POST /products/:id: never 5xx, a rejected form changes nothing', TIMEOUT, async () => {
      const statuses: Tally = new Map();
      const request = fc.record({
        id: segment(fc.constantFrom(...productIds)),
        fields: fieldsOf({ ...productFields(), version: versionField }),
        csrf: csrfChoice,
      });
      await fc.assert(
        fc.asyncProperty(request, async ({ id, fields, csrf }) => {
          const stored = productIds.includes(id)
            ? await current()
                .opened.db.selectFrom('products')
                .select('version')
                .where('id', '=', Number(id))
                .executeTakeFirst()
            : undefined;
          await pagePost(`/products/${id}`, fields, csrf, statuses, () => String(stored?.version ?? 1));
        }),
        { numRuns: numRuns(), seed: 4249 },
      );
      report('product edit', statuses);
      expect(statuses.get('303') ?? 0).toBeGreaterThan(0);
      expect(countOf(statuses, (status) => status >= 400)).toBeGreaterThan(0);
    });

    it('POST /products/:id/merge: never 5xx, a rejected form changes nothing', TIMEOUT, async () => {
      const statuses: Tally = new Map();
      const choice = either(fc.constantFrom('yours', 'theirs', 'original'));
      const request = fc.record({
        id: segment(fc.constantFrom(...productIds)),
        fields: fieldsOf({
          ...productFields(),
          baseVersion: either(fc.integer({ min: 0, max: 6 }).map(String)),
          currentVersion: versionField,
          choice_sku: choice,
          choice_name: choice,
          choice_description: choice,
          choice_price: choice,
          choice_quantity: choice,
          choice_category: choice,
          choice_active: choice,
        }),
        csrf: csrfChoice,
      });
      await fc.assert(
        fc.asyncProperty(request, async ({ id, fields, csrf }) => {
          const stored = productIds.includes(id)
            ? await current()
                .opened.db.selectFrom('products')
                .select('version')
                .where('id', '=', Number(id))
                .executeTakeFirst()
            : undefined;
          await pagePost(`/products/${id}/merge`, fields, csrf, statuses, () => String(stored?.version ?? 1));
        }),
        { numRuns: numRuns(), seed: 4252 },
      );
      report('product merge', statuses);
      expect(statuses.get('303') ?? 0).toBeGreaterThan(0);
      expect(statuses.get('422') ?? 0).toBeGreaterThan(0);
    });

    it(
      'POST /settings/app and /settings/preferences: never 5xx, a rejected form changes nothing',
      TIMEOUT,
      async () => {
        const statuses: Tally = new Map();
        const settingIds: Record<string, string> = {
          version_companyName: 'app.company_name',
          version_currency: 'app.currency',
          version_lowStockThreshold: 'app.low_stock_threshold',
          version_pageSize: `user.${demoUserId}.page_size`,
          version_theme: `user.${demoUserId}.theme`,
        };
        const appForm = fieldsOf({
          companyName: either(fc.constantFrom('Acme & Sons', 'Steadfast Supplies', 'Ünïcode <Co>')),
          currency: either(fc.constantFrom(...CURRENCIES)),
          lowStockThreshold: either(fc.integer({ min: 0, max: 1_000_000 }).map(String)),
          version_companyName: versionField,
          version_currency: versionField,
          version_lowStockThreshold: versionField,
        }).map((pairs) => ({ url: '/settings/app', pairs }));
        const preferencesForm = fieldsOf({
          pageSize: either(fc.constantFrom(...PAGE_SIZES.map(String))),
          theme: either(fc.constantFrom(...THEMES)),
          version_pageSize: versionField,
          version_theme: versionField,
        }).map((pairs) => ({ url: '/settings/preferences', pairs }));
        await fc.assert(
          fc.asyncProperty(fc.oneof(appForm, preferencesForm), csrfChoice, async ({ url, pairs }, csrf) => {
            const rows = await current().opened.db.selectFrom('settings').select(['id', 'version']).execute();
            const versions = new Map(rows.map((row) => [row.id, String(row.version)]));
            await pagePost(url, pairs, csrf, statuses, (key) => versions.get(settingIds[key] ?? '') ?? '0');
          }),
          { numRuns: numRuns(), seed: 4250 },
        );
        report('settings', statuses);
        expect(statuses.get('303') ?? 0).toBeGreaterThan(0);
        expect(statuses.get('422') ?? 0).toBeGreaterThan(0);
      },
    );
  });
});

const VIEWER_RUNS = { sqlite: 300, postgres: 100 } as const;

/** Sessions are the sign-in's bookkeeping (a post may touch one), not records: left out. */
function withoutSessions(dump: TableDump): TableDump {
  const { steadfast_sessions: _sessions, ...rest } = dump;
  return rest;
}

describeEachDatabase('form-body fuzz as a viewer, whose every record write the rule refuses', (current) => {
  const fixture = useSeededApp(current);
  let page: PageClient;
  let productIds: string[];

  beforeAll(async () => {
    const { db } = current().opened;
    if (current().engine === 'sqlite') await sql`pragma synchronous = off`.execute(db);
    page = new PageClient(fixture().app);
    await page.signIn('viewer', 'viewer');
    expect((await page.get('/products')).statusCode).toBe(200);
    const rows = await db.selectFrom('products').select('id').orderBy('id').limit(3).execute();
    productIds = rows.map((row) => String(row.id));
  });

  it('no write form is accepted, and nothing is written but refusals', TIMEOUT, async () => {
    const statuses: Tally = new Map();
    const id = segment(fc.constantFrom(...productIds));
    const request = fc.oneof(
      fieldsOf(productFields()).map((pairs) => ({ url: '/products', pairs })),
      fc
        .record({ id, fields: fieldsOf({ ...productFields(), version: versionField }) })
        .map(({ id: productId, fields }) => ({ url: `/products/${productId}`, pairs: fields })),
      fc
        .record({
          id,
          fields: fieldsOf({
            ...productFields(),
            baseVersion: either(fc.integer({ min: 0, max: 6 }).map(String)),
            currentVersion: versionField,
          }),
        })
        .map(({ id: productId, fields }) => ({ url: `/products/${productId}/merge`, pairs: fields })),
      fc
        .record({
          id,
          version: segment(fc.integer({ min: 1, max: 3 }).map(String)),
          body: fieldsOf({ expectedVersion: versionField }),
        })
        .map(({ id: productId, version, body }) => ({
          url: `/products/${productId}/revert/${version}`,
          pairs: body,
        })),
      fieldsOf({
        companyName: either(fc.constantFrom('Viewer & Co', 'Ünïcode <Co>')),
        currency: either(fc.constantFrom(...CURRENCIES)),
        lowStockThreshold: either(fc.integer({ min: 0, max: 1_000_000 }).map(String)),
        version_companyName: versionField,
        version_currency: versionField,
        version_lowStockThreshold: versionField,
      }).map((pairs) => ({ url: '/settings/app', pairs })),
    );
    let refusals = 0;
    await fc.assert(
      fc.asyncProperty(request, csrfChoice, async ({ url, pairs }, csrf) => {
        const before = withoutSessions(await dumpTables(current().opened.db));
        const { response, payload } = await postForm(fixture().app, page, url, pairs, csrf, () => '1');
        tally(statuses, response.statusCode);
        const said = `POST ${url} ${payload.slice(0, 300)} → ${response.body.slice(0, 300)}`;
        expect(response.statusCode, said).toBeGreaterThanOrEqual(400);
        expect(response.statusCode, said).toBeLessThan(500);
        const after = withoutSessions(await dumpTables(current().opened.db));
        refusals += expectOnlyRefusalsAdded(before, after).length;
      }),
      { numRuns: VIEWER_RUNS[current().engine], seed: 4253 },
    );
    report('viewer forms', statuses);
    expect(statuses.get('403') ?? 0).toBeGreaterThan(0);
    expect(refusals).toBeGreaterThan(0);
  });

  function report(name: string, statuses: Tally): void {
    const sorted = Object.fromEntries([...statuses].sort(([a], [b]) => Number(a) - Number(b)));
    console.info(`${name} [${current().engine}]: statuses ${JSON.stringify(sorted)}`);
  }
});
