/**
 * fast-check on the server's and the app's parsers of untrusted text: the database URL, the
 * environment, session data, product form bodies, and ids and versions from routes and forms.
 * Each answers within its domain or fails with its own typed error naming the problem, and never
 * echoes a password.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../examples/business-app/src/config.js';
import {
  parseRecordId,
  parseVersion,
  readProductInput,
} from '../../../examples/business-app/src/product-form.js';
import { DatabaseUrlError } from '../../../packages/steadfast/src/db/errors.js';
import { parseDatabaseUrl } from '../../../packages/steadfast/src/db/open-database.js';
import { parseSessionUser } from '../../../packages/steadfast/src/http/session-user.js';
import { isStorableText } from '../../../packages/steadfast/src/protocol/storable-text.js';
import { nastyText } from '../../support/fuzz-arbitraries.js';

const anyValue = fc.oneof(
  nastyText,
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(undefined, null, Number.NaN, -0, 2 ** 53, ['1'], { toString: 'x' }),
);

describe('parseDatabaseUrl', () => {
  const password = 'pw-Secret-91';
  const url = fc.oneof(
    nastyText,
    fc
      .tuple(
        fc.constantFrom('sqlite:', 'sqlite://', 'postgres://', 'postgresql://', 'mysql://', 'POSTGRES://'),
        nastyText,
      )
      .map(([s, r]) => s + r),
    fc
      .tuple(fc.constantFrom('postgres://', 'postgresql://', 'mysql://', 'postgres:/'), nastyText, nastyText)
      .map(([s, host, rest]) => `${s}user:${password}@${host}/${rest}`),
  );

  it('answers a dialect and a location, or a DatabaseUrlError that never shows the password', () => {
    fc.assert(
      fc.property(url, (text) => {
        try {
          const parsed = parseDatabaseUrl(text);
          expect(['sqlite', 'postgres']).toContain(parsed.dialect);
          expect(parsed.location.length).toBeGreaterThan(0);
        } catch (error) {
          expect(error).toBeInstanceOf(DatabaseUrlError);
          expect((error as Error).message).not.toContain(password);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('parseConfig', () => {
  const VARIABLES = [
    'PORT',
    'HOST',
    'DATABASE_URL',
    'SESSION_SECRET',
    'NODE_ENV',
    'SYNC_RATE_LIMIT_PER_MINUTE',
    'LOGIN_RATE_LIMIT_PER_MINUTE',
  ] as const;
  const environment = fc.dictionary(
    fc.oneof(fc.constantFrom(...VARIABLES), fc.string({ maxLength: 10 })),
    fc.oneof(nastyText, fc.integer({ min: -10, max: 70_000 }).map(String), fc.constant('production')),
    { maxKeys: 8 },
  );

  it('gives a config within range, or a ConfigError naming a variable', () => {
    fc.assert(
      fc.property(environment, (env) => {
        try {
          const config = parseConfig(env);
          expect(Number.isInteger(config.port) && config.port >= 0 && config.port <= 65_535).toBe(true);
          expect(config.rateLimits.syncPerMinute).toBeGreaterThan(0);
          expect(config.rateLimits.loginPerMinute).toBeGreaterThan(0);
          if (config.production) expect(config.sessionSecret?.length ?? 0).toBeGreaterThanOrEqual(32);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          expect(VARIABLES.some((name) => (error as Error).message.includes(name))).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('parseSessionUser', () => {
  it('answers null or a well-formed user, for any stored data', () => {
    const stored = fc.oneof(
      anyValue,
      fc.record({ id: anyValue, username: anyValue, displayName: anyValue }, { requiredKeys: [] }),
    );
    fc.assert(
      fc.property(stored, (value) => {
        const user = parseSessionUser(value);
        if (user === null) return;
        expect(Number.isSafeInteger(user.id) && user.id >= 1).toBe(true);
        expect(typeof user.username).toBe('string');
        expect(typeof user.displayName).toBe('string');
        expect(Object.keys(user).sort()).toEqual(['displayName', 'id', 'username']);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('product form and route parameters', () => {
  it('reads any body as strings and a boolean, ignoring what is not a field', () => {
    const body = fc.oneof(
      anyValue,
      fc.dictionary(
        fc.oneof(
          fc.constantFrom('sku', 'name', 'description', 'price', 'quantity', 'category', 'active'),
          nastyText,
        ),
        anyValue,
      ),
    );
    fc.assert(
      fc.property(body, (value) => {
        const input = readProductInput(value);
        for (const field of ['sku', 'name', 'description', 'price', 'quantity', 'category'] as const) {
          expect(typeof input[field]).toBe('string');
        }
        expect(typeof input.active).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
  });

  it('reads ids and versions as safe whole numbers or not at all', () => {
    fc.assert(
      fc.property(anyValue, (raw) => {
        const id = parseRecordId(raw);
        if (id !== undefined) expect(Number.isSafeInteger(id) && id >= 1).toBe(true);
        const version = parseVersion(raw);
        if (version !== undefined) expect(Number.isSafeInteger(version) && version >= 0).toBe(true);
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (n) => {
        expect(parseRecordId(String(n))).toBe(n);
      }),
    );
  });
});

describe('isStorableText', () => {
  it('accepts exactly the text whose UTF-8 round trip gives it back and that holds no NUL', () => {
    fc.assert(
      fc.property(
        fc.oneof(nastyText, fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })),
        (text) => {
          const roundTrips = Buffer.from(text, 'utf8').toString('utf8') === text;
          expect(isStorableText(text)).toBe(roundTrips && !text.includes('\u0000'));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
