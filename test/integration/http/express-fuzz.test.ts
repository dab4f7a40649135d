/**
 * Fuzzing the Express router (createExpressRouter) with fast-check, over a real socket as the API
 * suite runs it (expressHarness). Express parts from the Fastify plugin in its body parser
 * (body-parser: charsets, content encodings, an empty body read as `{}`), its query-string parsers
 * (node:querystring by default; `qs` when the host app sets `query parser` to 'extended', which
 * builds objects from `a[b]=1` and arrays from `a[]=1`), its error handling and its session and
 * CSRF glue. Whatever it is sent, it must answer a 4xx JSON `{error, message}`, never a 5xx, and
 * a rejected sync must leave the database exactly as it was.
 *
 * 1. POST /api/autosave/sync/: wrong types, deep nesting (in `data` too), `__proto__` keys, unicode,
 *    NUL, lone surrogates (`"\ud800"` in JSON text), broken JSON, wrong content types and charsets,
 *    bodies as bytes (no content type, invalid UTF-8, gzip, unknown content encodings). Text goes
 *    through the harness client; bytes, which it cannot send, go over fetch to a second Express
 *    app serving the same router on the same database.
 * 2. GET /api/activity, GET /api/autosave/drafts/ and GET /api/autosave/base/ with generated query
 *    strings, qs shapes included, sent to the default app and to an app with the `qs` parser.
 * 3. Session cookies and CSRF tokens missing, forged or garbage on the sync route: 401 or 403.
 *
 * Every input Express rejects (and every query) also goes to the Fastify plugin (inject) on the
 * same database: it too must stay below 500, and it must answer the same status and error code:
 * every sync body whatever its transport (both adapters read only UTF-8 `application/json` with
 * no content coding, refused alike before the body: route-table.ts), every session and CSRF case,
 * and every query string under Express's default parser. Where they may differ (the host app's
 * choice of the qs parser) the differences are counted and printed.
 *
 * 500 inputs a property on SQLite, 150 on PostgreSQL, fixed seeds.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { deflateSync, gzipSync } from 'node:zlib';
import { Signer } from '@fastify/cookie';
import express from 'express';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExpressRouter } from '../../../packages/steadfast/src/http/index.js';
import { ACTIVITY_PATH } from '../../../packages/steadfast/src/http/route-table.js';
import { ACTIVITY_ACTIONS } from '../../../packages/steadfast/src/persistence/index.js';
import {
  BASE_PATH,
  CSRF_HEADER,
  DRAFTS_PATH,
  SYNC_PATH,
} from '../../../packages/steadfast/src/protocol/constants.js';
import { baseResponseSchema } from '../../../packages/steadfast/src/protocol/sync.js';
import { describeEachDatabase, type TestDatabase } from '../../support/databases.js';
import {
  anyChange,
  anyScalar,
  deepData,
  hostileString,
  isoDateTime,
  loneSurrogate,
  weirdNumber,
} from '../../support/fuzz-arbitraries.js';
import {
  type ApiHarness,
  createTestUser,
  expressHarness,
  injectClient,
  NO_SYNC_LIMITS,
  newClientId,
  signInAs,
  syncTablesChecksum,
  TEST_SECRET,
  type TestResponse,
  type TestSession,
} from '../../support/http-fixtures.js';

const RUNS = { sqlite: 500, postgres: 150 } as const;
const TIMEOUT = { timeout: 120_000 };
/** Largest value of PostgreSQL's `integer`: record ids and versions (and so baseVersion) fit in it. */
const INT4_MAX = 2_147_483_647;
/** Keys the signed-in user has drafts under (synced before the runs), so `?key=` can find one. */
const DRAFT_KEYS = ['product-new', 'ui/panel', 'k.1'] as const;
const NO_LIMIT = { limits: NO_SYNC_LIMITS };

// ---- Generators (sync-fuzz's, plus what reaches Express's parsers) ----------------------------

/** Free-form draft data holding hostile text as values and as keys. */
const textData = fc
  .array(fc.tuple(hostileString, fc.oneof(hostileString, weirdNumber, fc.boolean())), { maxLength: 4 })
  .map((entries) => {
    const data: Record<string, unknown> = {};
    for (const [key, value] of entries) // defineProperty: `__proto__` becomes an own key, as JSON.parse makes it.
      Object.defineProperty(data, key, { value, enumerable: true, configurable: true, writable: true });
    return data;
  });

const savedAt = fc.oneof(
  { weight: 6, arbitrary: fc.constant(new Date().toISOString()) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '9999-12-31T23:59:59-23:59',
      '0000-01-01T00:00:00+00:01',
      '2024-02-29T12:00:00.123456789+14:00',
      '2023-02-29T00:00:00Z',
      '2024-01-01T24:00:00Z',
    ),
  },
  { weight: 1, arbitrary: anyScalar },
);

const validKey = fc.constantFrom(
  ...DRAFT_KEYS,
  'product-1',
  `product-${INT4_MAX}`,
  `product-${INT4_MAX + 1}`,
  'product-9999999999999999',
  'a'.repeat(200),
);

/** A change that is valid but for what the generator makes hostile: the write path sees it. */
function changeNumbered(mutationId: number) {
  return fc.record(
    {
      mutationId: fc.constant(mutationId),
      kind: fc.constantFrom('form', 'state'),
      key: fc.oneof({ weight: 5, arbitrary: validKey }, { weight: 1, arbitrary: hostileString }),
      data: fc.oneof(
        fc.jsonValue({ maxDepth: 3 }),
        textData,
        deepData,
        fc.constant(null),
        loneSurrogate.map((text) => ({ [text]: text })),
      ),
      baseVersion: fc.oneof(
        fc.constant(null),
        fc.nat(3),
        fc.constantFrom(INT4_MAX, INT4_MAX + 1, 2 ** 32, 2 ** 53 - 1),
      ),
      savedAt,
    },
    { requiredKeys: ['mutationId', 'kind', 'key', 'data', 'savedAt'] },
  );
}

const nearlyValidBody = fc
  .tuple(fc.uuid({ version: 4 }), fc.integer({ min: 0, max: 4 }))
  .chain(([clientId, count]) =>
    fc.record({
      clientId: fc.constant(clientId),
      changes: fc.tuple(...Array.from({ length: count }, (_, i) => changeNumbered(i + 1))),
    }),
  );

const wrongTypesBody = fc.record(
  {
    clientId: fc.oneof(fc.uuid({ version: 4 }), hostileString, anyScalar),
    changes: fc.oneof(fc.array(anyChange, { maxLength: 6 }), anyScalar, fc.jsonValue({ maxDepth: 2 })),
    __proto__: fc.jsonValue({ maxDepth: 2 }),
    other: anyScalar,
  },
  { requiredKeys: [] },
);

/** One valid change as JSON text, around a piece of raw JSON text for its `data`. */
function withRawData(clientId: string, data: string, extra = ''): string {
  return `{"clientId":"${clientId}","changes":[{"mutationId":1,"kind":"form","key":"k","data":${data},"savedAt":"${new Date().toISOString()}"${extra}}]}`;
}

/** Nesting as text: JSON.stringify itself recurses, and so cannot write what is tested here. */
const deepText = fc
  .tuple(fc.constantFrom(17, 100, 1_000, 5_000, 20_000, 60_000), fc.constantFrom('array', 'object'))
  .map(([depth, shape]) =>
    shape === 'array'
      ? `${'['.repeat(depth)}${']'.repeat(depth)}`
      : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
  );

const protoText = fc.constantFrom(
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"a":{"__proto__":{"polluted":true}}}',
  '[{"__proto__":{"polluted":true}}]',
);

/** Raw escapes JSON.parse turns into lone surrogates and NUL. */
const escapeText = fc.constantFrom(
  '"\\ud800"',
  '"a\\udc00b"',
  '"\\u0000"',
  '{"\\ud800":1}',
  '{"\\u0000":"\\udfff"}',
);

const validBodyText = nearlyValidBody.map((value) => JSON.stringify(value));

/** Bodies as text: the objects above as JSON, raw JSON around hostile pieces, and text that is no JSON. */
const bodyText = fc.oneof(
  { weight: 6, arbitrary: validBodyText },
  { weight: 4, arbitrary: wrongTypesBody.map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', ' ', 'null', '"x"', '1', '[]', '{}', '{', '{"clientId":', 'nul'),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(validBodyText, fc.nat())
      .map(([text, cut]) => text.slice(0, text.length > 1 ? cut % (text.length - 1) : 0)),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(validBodyText, fc.constantFrom(',', '}', ' x', ',,')).map(([t, s]) => t + s),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.uuid({ version: 4 }), deepText).map(([id, deep]) => withRawData(id, deep)),
  },
  { weight: 1, arbitrary: deepText },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.uuid({ version: 4 }), protoText).map(([id, data]) => withRawData(id, data)),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.uuid({ version: 4 }), protoText)
      .map(([id, proto]) => `{"clientId":"${id}","changes":[],"__proto__":${proto}}`),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.uuid({ version: 4 }), protoText)
      .map(([id, proto]) => withRawData(id, '{}', `,"__proto__":${proto}`)),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.uuid({ version: 4 }), escapeText).map(([id, data]) => withRawData(id, data)),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.uuid({ version: 4 }), escapeText, fc.boolean())
      .map(([id, text, inClientId]) =>
        inClientId
          ? `{"clientId":${text},"changes":[]}`
          : `{"clientId":"${id}","changes":[{"mutationId":1,"kind":"form","key":${text},"data":{"t":${text}},"savedAt":"${new Date().toISOString()}"}]}`,
      ),
  },
  // Past the 1 MiB body limit: 413 on both adapters.
  {
    weight: 1,
    arbitrary: fc.uuid({ version: 4 }).map((id) => withRawData(id, `"${'x'.repeat(1_100_000)}"`)),
  },
);

const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON'];
const contentType = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...JSON_TYPES) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'application/json; charset=utf-7',
      'application/json; charset=utf-x',
      'application/json; charset="utf-8"; x=y',
      'application/json;;',
      'application/json; charset',
      'application/vnd.api+json',
      'text/plain',
      'text/json',
      'application/x-www-form-urlencoded',
      'application/xml',
      'multipart/form-data; boundary=x',
      'garbage',
      '',
    ),
  },
);

/** How the body travels: as text through the harness client, or as bytes (raw) through fetch. */
type Transport =
  | 'text'
  | 'no-content-type'
  | 'gzip'
  | 'deflate'
  | 'not-gzip'
  | 'compress'
  | 'zstd'
  | 'utf16le'
  | 'bad-utf8'
  | 'bom';
const transport = fc.oneof(
  { weight: 12, arbitrary: fc.constant<Transport>('text') },
  {
    weight: 3,
    arbitrary: fc.constantFrom<Transport>(
      'no-content-type',
      'gzip',
      'deflate',
      'not-gzip',
      'compress',
      'zstd',
      'utf16le',
      'bad-utf8',
      'bom',
    ),
  },
);

interface WireRequest {
  readonly headers: Record<string, string>;
  readonly body: string | Buffer;
}

/** The body as bytes and headers for a transport. */
function onTheWire(body: string, type: string, how: Transport): WireRequest {
  const json = { 'content-type': 'application/json' };
  switch (how) {
    case 'text':
      return { headers: { 'content-type': type }, body };
    case 'no-content-type':
      return { headers: {}, body: Buffer.from(body) };
    case 'gzip':
      return { headers: { ...json, 'content-encoding': 'gzip' }, body: gzipSync(body) };
    case 'deflate':
      return { headers: { ...json, 'content-encoding': 'deflate' }, body: deflateSync(body) };
    case 'not-gzip':
      return { headers: { ...json, 'content-encoding': 'gzip' }, body: Buffer.from(body) };
    case 'compress':
    case 'zstd':
      return { headers: { ...json, 'content-encoding': how }, body: Buffer.from(body) };
    case 'utf16le':
      return {
        headers: { 'content-type': 'application/json; charset=utf-16le' },
        body: Buffer.from(body, 'utf16le'),
      };
    case 'bad-utf8': {
      const bytes = Buffer.from(body);
      const at = Math.floor(bytes.length / 2);
      return {
        headers: json,
        body: Buffer.concat([
          bytes.subarray(0, at),
          Buffer.from([0xff, 0xc3, 0xed, 0xa0, 0x80]),
          bytes.subarray(at),
        ]),
      };
    }
    case 'bom':
      return { headers: json, body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body)]) };
  }
}

/** Text as it would be percent-encoded byte by byte (lone surrogates become U+FFFD's bytes). */
function percentEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** What a query field would validly hold, already encoded. */
const validQueryValue: Record<string, fc.Arbitrary<string>> = {
  model: fc.constantFrom('Draft', 'Product', 'Setting', 'User'),
  objectId: fc.constantFrom('1', '42', '1:form:product-new'),
  actor: fc.constantFrom('1', '2', 'system'),
  action: fc.constantFrom(...ACTIVITY_ACTIONS),
  from: isoDateTime,
  to: isoDateTime,
  limit: fc.constantFrom('1', '20', '100', '101', '0'),
  cursor: fc.constantFrom('1', '999', '9999999999999999', '99999999999999999'),
  // user-1 is the signed-in user's own record (the first user of this database), user-2 another's.
  key: fc.constantFrom(...DRAFT_KEYS, 'product-1', 'missing', 'user-1', 'user-2'),
  version: fc.constantFrom('0', '1', '2', '3'),
};

/** A query key: a field, a qs shape of it, or a key no route reads. Raw: brackets stay brackets. */
function queryKey(field: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant(field) },
    {
      weight: 4,
      arbitrary: fc.constantFrom(
        `${field}[a]`,
        `${field}[]`,
        `${field}[$gt]`,
        `${field}[$ne]`,
        `${field}[__proto__]`,
        `${field}[constructor]`,
        `${field}[0]`,
        `${field}[1][2]`,
        `${field}[toString]`,
        `${field}[valueOf]`,
        `${field}[length]`,
        `${field}%5B%5D`,
        `${field}%5Bx%5D`,
        `${field}.a`,
        `${field}[a][b][c][d][e][f][g]`,
        `${field}[`,
        `${field}]`,
        `${field}[999]`,
      ),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '__proto__',
        '__proto__[polluted]',
        'constructor',
        'constructor[prototype][polluted]',
        'toString',
        'hasOwnProperty',
        'valueOf',
        '',
        '%00',
        '%zz',
        'a[b]',
        '[]',
        '[x]',
        'x'.repeat(500),
      ),
    },
    { weight: 1, arbitrary: hostileString.map(percentEncode) },
  );
}

/** A query value, already encoded: valid, hostile text, a bad or dangerous escape, a long one. */
function queryValue(field: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 5, arbitrary: (validQueryValue[field] ?? fc.constant('1')).map(percentEncode) },
    { weight: 3, arbitrary: hostileString.map(percentEncode) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        '%00',
        'a%00b',
        '%zz',
        '%',
        '%E0%A4',
        '%ED%A0%80',
        '%uD800',
        '%FF',
        '+',
        '%2B',
        '[]',
        '1e309',
        '9007199254740993',
        '0x10',
        '-1',
        '2147483648',
        '99999999999999999999',
        ' 1 ',
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom('x'.repeat(2500), percentEncode('ü'.repeat(300)), '9'.repeat(400)),
    },
  );
}

function queryPair(fields: readonly string[]): fc.Arbitrary<string> {
  return fc.constantFrom(...fields).chain((field) =>
    fc.oneof(
      { weight: 10, arbitrary: fc.tuple(queryKey(field), queryValue(field)).map(([k, v]) => `${k}=${v}`) },
      { weight: 1, arbitrary: queryKey(field) },
      { weight: 1, arbitrary: queryKey(field).map((k) => `${k}=`) },
      // The same key twice: an array under either parser.
      {
        weight: 2,
        arbitrary: fc
          .tuple(queryValue(field), queryValue(field))
          .map(([a, b]) => `${field}=${a}&${field}=${b}`),
      },
    ),
  );
}

const ACTIVITY_FIELDS = ['model', 'objectId', 'actor', 'action', 'from', 'to', 'limit', 'cursor'] as const;

/** A GET url on one of the three routes, its query at most 4 pairs long (under Node's 16 KiB header limit). */
const queryUrl = fc.oneof(
  fc
    .tuple(fc.array(queryPair(ACTIVITY_FIELDS), { maxLength: 4 }), fc.constantFrom('&', '&&', ';'))
    .map(([pairs, sep]) => (pairs.length ? `${ACTIVITY_PATH}?${pairs.join(sep)}` : ACTIVITY_PATH)),
  fc
    .tuple(fc.array(queryPair(['key']), { maxLength: 3 }), fc.constantFrom('&', '&&'))
    .map(([pairs, sep]) => (pairs.length ? `${DRAFTS_PATH}?${pairs.join(sep)}` : DRAFTS_PATH)),
  fc
    .tuple(fc.array(queryPair(['key', 'version']), { maxLength: 3 }), fc.constantFrom('&', '&&'))
    .map(([pairs, sep]) => (pairs.length ? `${BASE_PATH}?${pairs.join(sep)}` : BASE_PATH)),
);

// ---- Helpers -------------------------------------------------------------------------------------

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A request as bytes over a real socket (the harness client sends text only). */
async function sendRaw(
  url: string,
  init: { method?: string; headers: Record<string, string>; body?: string | Buffer },
): Promise<TestResponse> {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: init.headers,
    body: init.body === undefined || typeof init.body === 'string' ? init.body : new Uint8Array(init.body),
    redirect: 'manual',
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers),
    text,
    json: parseJson(text),
  };
}

/** The router on its own Express app with the given app settings (`query parser`), on 127.0.0.1:0. */
async function startExpressApp(
  database: TestDatabase,
  harness: ApiHarness,
  settings: Readonly<Record<string, unknown>>,
): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  for (const [name, value] of Object.entries(settings)) app.set(name, value);
  app.use(
    createExpressRouter({
      database: database.opened,
      persistence: harness.persistence,
      sessionSecret: TEST_SECRET,
      ...NO_LIMIT,
    }),
  );
  const listener = app.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const { port } = listener.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => listener.close(() => resolve())),
  };
}

/** Never a 5xx; always JSON; a 4xx carries string `error` and `message`. */
function expectApiAnswer(response: TestResponse, what: string): void {
  expect(response.status, what).toBeLessThan(500);
  expect(String(response.headers['content-type'] ?? ''), what).toMatch(/^application\/json/);
  expect(response.json, what).not.toBeUndefined();
  if (response.status >= 400) {
    expect(typeof response.json?.error, what).toBe('string');
    expect(typeof response.json?.message, what).toBe('string');
  }
}

function describeRequest(url: string, headers: Record<string, string>, body?: string | Buffer): string {
  const shown =
    body === undefined ? '' : typeof body === 'string' ? body.slice(0, 300) : `<${body.length} bytes>`;
  return `${url} ${JSON.stringify(headers)} ${shown}`;
}

type Tally = Map<string, number>;
function count(tally: Tally, key: string): void {
  tally.set(key, (tally.get(key) ?? 0) + 1);
}
const sorted = (tally: Tally) => Object.fromEntries([...tally].sort(([, a], [, b]) => b - a));
const answerOf = (response: { status: number; json: unknown }) =>
  `${response.status} ${(response.json as { error?: unknown } | undefined)?.error ?? '-'}`;

function cookiesOf(response: { headers: Record<string, unknown> }): string[] {
  const header = response.headers['set-cookie'];
  const list = Array.isArray(header) ? header : header ? [header] : [];
  return list.map((c) => String(c).split(';')[0] as string);
}

/** Printable ASCII only: header values a client can send at all (no CR, LF, NUL, code points > 0xFF). */
const headerSafe = (text: string) => text.replace(/[^\x20-\x7e]/g, (c) => `%${c.charCodeAt(0).toString(16)}`);

// ---- The suite ----------------------------------------------------------------------------------

describeEachDatabase('Express router fuzz', (current) => {
  let harness: ApiHarness;
  let fastify: FastifyInstance;
  let qs: { url: string; close(): Promise<void> };
  let alice: TestSession;
  let bob: TestSession;
  /** A session with a CSRF secret and nobody signed in. */
  let anonymous: { cookie: string; csrf: string };

  beforeAll(async () => {
    const { db } = current().opened;
    // This file tests input handling, not durability: no fsync per commit.
    if (current().engine === 'sqlite') await sql`pragma synchronous = off`.execute(db);
    harness = await expressHarness(current(), NO_LIMIT);
    fastify = harness.app;
    qs = await startExpressApp(current(), harness, { 'query parser': 'extended' });
    alice = await signInAs(fastify, await createTestUser(harness.persistence, 'xfuzz'));
    bob = await signInAs(fastify, await createTestUser(harness.persistence, 'xfuzzb'));
    const csrf = await injectClient(fastify).request({ url: '/test/csrf' });
    anonymous = { cookie: cookiesOf(csrf).join('; '), csrf: csrf.json.token as string };
    const seeded = await harness.client.request({
      method: 'POST',
      url: SYNC_PATH,
      session: alice,
      body: {
        clientId: newClientId(),
        changes: DRAFT_KEYS.map((key, i) => ({
          mutationId: i + 1,
          kind: 'form',
          key,
          data: { seeded: key },
          savedAt: new Date().toISOString(),
        })),
      },
    });
    expect(seeded.status, seeded.text).toBe(200);
  });
  afterAll(async () => {
    await qs?.close();
    await harness?.close();
  });

  const fingerprint = () => syncTablesChecksum(current().opened.db);

  /** The same request to the Fastify plugin, through inject. */
  async function toFastify(
    method: 'GET' | 'POST',
    url: string,
    headers: Record<string, string>,
    body?: string | Buffer,
  ) {
    const response = await fastify.inject({
      method,
      url,
      headers,
      ...(body === undefined ? {} : { payload: body }),
    });
    return { status: response.statusCode, json: parseJson(response.body), text: response.body };
  }

  const auth = (session: TestSession) => ({ cookie: session.cookie, [CSRF_HEADER]: session.csrf });

  describe('regressions', () => {
    /** Both adapters, each with its own body (a fresh clientId each): Express over the socket, Fastify through inject. */
    async function syncBoth(body: () => string) {
      const headers = { ...auth(alice), 'content-type': 'application/json' };
      const express = await harness.client.request({ method: 'POST', url: SYNC_PATH, headers, body: body() });
      const plugin = await toFastify('POST', SYNC_PATH, headers, body());
      return { express, plugin };
    }

    it('answers 400 naming the field for draft data nested thousands deep (the validator overflowed the stack: 500)', async () => {
      for (const deep of [
        '['.repeat(10_000) + ']'.repeat(10_000),
        `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`,
      ]) {
        const before = await fingerprint();
        for (const answer of Object.values(await syncBoth(() => withRawData(newClientId(), deep)))) {
          expect(answer.status, answer.text.slice(0, 300)).toBe(400);
          expect(answer.json).toMatchObject({ error: 'invalid_request', field: 'changes.0.data' });
          expect(answer.json.message).toContain('nested deeper than 16 levels');
        }
        expect(await fingerprint()).toBe(before);
      }
    });

    it('answers 400 for a baseVersion past a 32-bit integer (PostgreSQL failed the insert: 500), and takes the largest one', async () => {
      const body = (baseVersion: number) =>
        JSON.stringify({
          clientId: newClientId(),
          changes: [
            {
              mutationId: 1,
              kind: 'form',
              key: 'v',
              data: {},
              baseVersion,
              savedAt: new Date().toISOString(),
            },
          ],
        });
      const before = await fingerprint();
      for (const answer of Object.values(await syncBoth(() => body(INT4_MAX + 1)))) {
        expect(answer.status, answer.text).toBe(400);
        expect(answer.json).toMatchObject({ error: 'invalid_request', field: 'changes.0.baseVersion' });
      }
      expect(await fingerprint()).toBe(before);
      for (const answer of Object.values(await syncBoth(() => body(INT4_MAX)))) {
        expect(answer.status, answer.text).toBe(200);
        expect(answer.json.results[0].status).toBe('applied');
      }
    });

    it('applies a draft keyed by a product id past a 32-bit integer (the staleness lookup failed on PostgreSQL: 500)', async () => {
      for (const key of [`product-${INT4_MAX + 1}`, 'product-9999999999999999']) {
        const body = () =>
          JSON.stringify({
            clientId: newClientId(),
            changes: [
              {
                mutationId: 1,
                kind: 'form',
                key,
                data: { name: 'x' },
                baseVersion: 1,
                savedAt: new Date().toISOString(),
              },
            ],
          });
        for (const answer of Object.values(await syncBoth(body))) {
          expect(answer.status, answer.text).toBe(200);
          expect(answer.json.results[0]).toEqual({ mutationId: 1, status: 'applied' });
        }
      }
    });
  });

  it('answers the qs shapes of a query string with JSON, never 5xx, under either query parser', async () => {
    const queries = [
      `${ACTIVITY_PATH}?model[a]=1`,
      `${ACTIVITY_PATH}?actor[]=x&actor[]=y`,
      `${ACTIVITY_PATH}?limit[$gt]=1`,
      `${ACTIVITY_PATH}?limit[]=5`,
      `${ACTIVITY_PATH}?limit[toString]=1&limit[valueOf]=1`,
      `${ACTIVITY_PATH}?cursor[__proto__]=1`,
      `${ACTIVITY_PATH}?__proto__[polluted]=1&constructor[prototype][polluted]=1`,
      `${ACTIVITY_PATH}?model=Draft&model=Product`,
      `${ACTIVITY_PATH}?actor=${'x'.repeat(5000)}`,
      `${ACTIVITY_PATH}?objectId=%00`,
      `${ACTIVITY_PATH}?model=%zz&actor=%ED%A0%80`,
      `${DRAFTS_PATH}?key[__proto__]=1`,
      `${DRAFTS_PATH}?key[]=product-new`,
      `${DRAFTS_PATH}?key=product-new&key=ui/panel`,
      `${DRAFTS_PATH}?key=${'k'.repeat(5000)}`,
      `${DRAFTS_PATH}?key=a%00b`,
      `${DRAFTS_PATH}?key=%zz`,
      `${DRAFTS_PATH}?toString=1&hasOwnProperty=1`,
      `${BASE_PATH}?key[]=user-1&version=1`,
      `${BASE_PATH}?key=user-1&version[]=1`,
      `${BASE_PATH}?key=user-1&version[$gt]=0`,
      `${BASE_PATH}?key[__proto__]=1&version=1`,
      `${BASE_PATH}?key=user-1&version=1&version=2`,
      `${BASE_PATH}?key=user-1&version=%00`,
      `${BASE_PATH}?key=user-%zz&version=1`,
    ];
    for (const url of queries) {
      const simple = await harness.client.request({ url, session: alice });
      expectApiAnswer(simple, `default parser: ${url}`);
      const extended = await sendRaw(qs.url + url, { headers: { cookie: alice.cookie } });
      expectApiAnswer(extended, `qs parser: ${url}`);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('never answers 5xx to a sync body, and a rejected body changes nothing', TIMEOUT, async () => {
    const statuses: Tally = new Map();
    await fc.assert(
      fc.asyncProperty(bodyText, contentType, transport, async (body, type, how) => {
        const wire = onTheWire(body, type, how);
        const headers = { ...auth(alice), ...wire.headers };
        const what = `${how}: ${describeRequest(SYNC_PATH, wire.headers, wire.body)}`;
        const before = await fingerprint();
        const response =
          how === 'text'
            ? await harness.client.request({
                method: 'POST',
                url: SYNC_PATH,
                headers,
                body: wire.body as string,
              })
            : await sendRaw(qs.url + SYNC_PATH, { method: 'POST', headers, body: wire.body });
        count(statuses, String(response.status));
        expectApiAnswer(response, what);
        if (response.status === 200) expect(response.json.status, what).toBe('ok');
        else {
          expect(await fingerprint(), what).toBe(before);
          const plugin = await toFastify('POST', SYNC_PATH, headers, wire.body);
          expect(plugin.status, `fastify: ${what}`).toBeLessThan(500);
          expect(answerOf(response), `express and fastify: ${what}`).toBe(answerOf(plugin));
        }
        expect(({} as Record<string, unknown>).polluted, what).toBeUndefined();
      }),
      { numRuns: RUNS[current().engine], seed: 20_251_125 },
    );
    console.info(`express sync fuzz [${current().engine}]: statuses ${JSON.stringify(sorted(statuses))}`);
    // The generator must reach the write path, and each kind of refusal, or it proves little.
    for (const status of ['200', '400', '413', '415'])
      expect(statuses.get(status) ?? 0, status).toBeGreaterThan(0);
  });

  it('answers every query string with JSON and never 5xx, under either query parser', TIMEOUT, async () => {
    const statuses: Tally = new Map();
    const differences: Tally = new Map();
    await fc.assert(
      fc.asyncProperty(queryUrl, async (url) => {
        const simple = await harness.client.request({ url, session: alice });
        const extended = await sendRaw(qs.url + url, { headers: { cookie: alice.cookie } });
        count(statuses, `default ${simple.status}`);
        count(statuses, `qs ${extended.status}`);
        for (const [parser, response] of [
          ['default', simple],
          ['qs', extended],
        ] as const) {
          expectApiAnswer(response, `${parser} parser: ${url}`);
          if (response.status === 200 && url.startsWith(BASE_PATH)) {
            expect(baseResponseSchema.safeParse(response.json).success, url).toBe(true);
            expect(response.text, url).not.toContain('password_hash');
          } else if (response.status === 200) {
            expect(Array.isArray(response.json.entries ?? response.json.drafts), url).toBe(true);
          }
        }
        // Under Express's default parser, the router answers as the plugin does. The qs parser is the
        // host app's choice, and reads other shapes (`limit[]=5` is 5, `__proto__` keys are dropped).
        const plugin = await toFastify('GET', url, { cookie: alice.cookie });
        expect(answerOf(simple), `default parser and fastify: ${url}`).toBe(answerOf(plugin));
        if (answerOf(plugin) !== answerOf(extended)) {
          count(differences, `qs parser: express ${answerOf(extended)}, fastify ${answerOf(plugin)}`);
        }
        expect(({} as Record<string, unknown>).polluted, url).toBeUndefined();
      }),
      { numRuns: RUNS[current().engine], seed: 1_125 },
    );
    console.info(`express query fuzz [${current().engine}]: statuses ${JSON.stringify(sorted(statuses))}`);
    console.info(
      `express query fuzz [${current().engine}]: differs from fastify ${JSON.stringify(sorted(differences))}`,
    );
    for (const status of ['default 200', 'default 400', 'default 404', 'qs 200', 'qs 400']) {
      expect(statuses.get(status) ?? 0, status).toBeGreaterThan(0);
    }
  });

  it(
    'answers 401 or 403 to a missing, forged or garbage session cookie or CSRF token, never 5xx',
    TIMEOUT,
    async () => {
      const signer = new Signer(TEST_SECRET);
      const aliceSid = decodeURIComponent(/(?:^|;\s*)sid=([^;]*)/.exec(alice.cookie)?.[1] ?? '');
      const anonSid = decodeURIComponent(/(?:^|;\s*)sid=([^;]*)/.exec(anonymous.cookie)?.[1] ?? '');
      expect(aliceSid).toContain('.');

      type CookieChoice = (typeof cookieChoices)[number];
      const cookieChoices = [
        'none',
        'valid',
        'anonymous',
        'garbage',
        'tampered',
        'unsigned',
        'forged',
        'other-name',
        'empty',
        'garbage-first',
        'bad-escape',
      ] as const;
      const csrfChoices = [
        'none',
        'valid',
        'other-user',
        'anonymous',
        'garbage',
        'suffixed',
        'truncated',
        'empty',
        'twice',
      ] as const;
      const cookieHeader = (choice: CookieChoice, garbage: string): string | undefined => {
        const sid = (value: string) => `sid=${encodeURIComponent(value)}`;
        switch (choice) {
          case 'none':
            return undefined;
          case 'valid':
            return sid(aliceSid);
          case 'anonymous':
            return sid(anonSid);
          case 'garbage':
            return `sid=${headerSafe(garbage)}`;
          case 'tampered':
            return sid(`${aliceSid.slice(0, -1)}${aliceSid.endsWith('A') ? 'B' : 'A'}`);
          case 'unsigned':
            return sid(aliceSid.slice(0, aliceSid.lastIndexOf('.')));
          case 'forged':
            // Signed with the right secret, naming a session that does not exist.
            return sid(signer.sign(headerSafe(garbage) || 'nobody'));
          case 'other-name':
            return `sidx=${encodeURIComponent(aliceSid)}; theme=dark`;
          case 'empty':
            return 'sid=';
          case 'garbage-first':
            return `sid=${headerSafe(garbage) || 'x'}; ${sid(aliceSid)}`;
          case 'bad-escape':
            return `sid=%zz${encodeURIComponent(aliceSid)}%`;
        }
      };
      const csrfHeader = (choice: (typeof csrfChoices)[number], garbage: string): string | undefined => {
        switch (choice) {
          case 'none':
            return undefined;
          case 'valid':
            return alice.csrf;
          case 'other-user':
            return bob.csrf;
          case 'anonymous':
            return anonymous.csrf;
          case 'garbage':
            return headerSafe(garbage);
          case 'suffixed':
            return `${alice.csrf}x`;
          case 'truncated':
            return alice.csrf.slice(0, -1);
          case 'empty':
            return '';
          case 'twice':
            return `${alice.csrf}, ${alice.csrf}`;
        }
      };

      const statuses: Tally = new Map();
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            { weight: 3, arbitrary: fc.constant<CookieChoice>('valid') },
            { weight: 5, arbitrary: fc.constantFrom(...cookieChoices) },
          ),
          fc.constantFrom(...csrfChoices),
          fc.oneof(
            hostileString,
            fc.string({ maxLength: 80 }).map((text) => `${text}.${text}`),
          ),
          fc.oneof(
            validBodyText,
            bodyText.filter((text) => text.length < 10_000),
          ),
          async (cookieChoice, csrfChoice, garbage, body) => {
            const headers: Record<string, string> = { 'content-type': 'application/json' };
            const cookie = cookieHeader(cookieChoice, garbage);
            const token = csrfHeader(csrfChoice, garbage);
            if (cookie !== undefined) headers.cookie = cookie;
            if (token !== undefined) headers[CSRF_HEADER] = token;
            const what = `cookie ${cookieChoice}, csrf ${csrfChoice}: ${describeRequest(SYNC_PATH, headers, body)}`;
            const before = await fingerprint();
            const response = await harness.client.request({ method: 'POST', url: SYNC_PATH, headers, body });
            count(statuses, `${response.status}`);
            expectApiAnswer(response, what);
            const signedIn = cookieChoice === 'valid';
            if (!signedIn || csrfChoice !== 'valid') {
              expect(response.status, what).toBe(signedIn ? 403 : 401);
              expect(response.json.error, what).toBe(signedIn ? 'csrf_invalid' : 'unauthenticated');
              expect(await fingerprint(), what).toBe(before);
              const plugin = await toFastify('POST', SYNC_PATH, headers, body);
              expect(answerOf(response), `express and fastify: ${what}`).toBe(answerOf(plugin));
            } else {
              expect([401, 403], what).not.toContain(response.status);
            }
          },
        ),
        { numRuns: RUNS[current().engine], seed: 4_011 },
      );
      console.info(`express auth fuzz [${current().engine}]: statuses ${JSON.stringify(sorted(statuses))}`);
      for (const status of ['200', '401', '403'])
        expect(statuses.get(status) ?? 0, status).toBeGreaterThan(0);
    },
  );
});
