/**
 * Runs one test body against every database engine, Kysely-style: SQLite in a fresh temp file
 * and PostgreSQL in a fresh database made for this test file (so files running in parallel
 * never share state). No mocks: both are the real engines.
 *
 * Without a reachable PostgreSQL the pg half is skipped with a loud warning, except under
 * CI=true, where a missing PostgreSQL fails the run.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import { openAppDatabase } from '../../examples/business-app/src/app-database.js';
import type { AppDatabase } from '../../examples/business-app/src/schema.js';
import { type OpenedDatabase, openDatabase } from '../../packages/steadfast/src/db/index.js';
import type { Database } from '../../packages/steadfast/src/db/schema.js';

/**
 * A test database: Steadfast's tables with its sessions and the demo's own (products, settings),
 * which most tests save through. `db` is typed with both, and is still the OpenedDatabase the
 * library and the demo take.
 */
export type TestOpenedDatabase = OpenedDatabase & { readonly db: Kysely<AppDatabase> & Kysely<Database> };

export const ADMIN_PG_URL = process.env.STEADFAST_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export type EngineName = 'sqlite' | 'postgres';

export interface TestDatabase {
  readonly engine: EngineName;
  /** The URL another process can open the same database with. */
  readonly url: string;
  readonly opened: TestOpenedDatabase;
}

let pgAvailable: Promise<boolean> | undefined;

export function isPostgresAvailable(): Promise<boolean> {
  pgAvailable ??= (async () => {
    const client = new pg.Client({ connectionString: ADMIN_PG_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch (error) {
      if (process.env.CI === 'true') {
        throw new Error(`CI=true but PostgreSQL at ${ADMIN_PG_URL} is unreachable: ${String(error)}`);
      }
      console.warn(
        `\n!!!!! PostgreSQL at ${ADMIN_PG_URL} is unreachable: SKIPPING every PostgreSQL test. !!!!!\n`,
      );
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return pgAvailable;
}

/** With `migrate: false`, nothing is created: a test of the migrations themselves. */
function openTestDatabase(url: string, options: { migrate?: boolean }): Promise<OpenedDatabase> {
  return options.migrate === false ? openDatabase(url, { migrate: false }) : openAppDatabase(url);
}

/** A new, empty, migrated database of the given engine. `drop()` removes it. */
export async function createTestDatabase(
  engine: EngineName,
  options: { migrate?: boolean } = {},
): Promise<TestDatabase & { drop(): Promise<void> }> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'steadfast-test-'));
    const url = `sqlite:${join(dir, 'test.db')}`;
    const opened = (await openTestDatabase(url, options)) as TestOpenedDatabase;
    return {
      engine,
      url,
      opened,
      async drop() {
        await opened.close().catch(() => {});
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const name = `steadfast_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_PG_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const parsed = new URL(ADMIN_PG_URL);
  parsed.pathname = `/${name}`;
  const url = parsed.toString();
  const opened = (await openTestDatabase(url, options)) as TestOpenedDatabase;
  return {
    engine,
    url,
    opened,
    async drop() {
      await opened.close().catch(() => {});
      const cleanup = new pg.Client({ connectionString: ADMIN_PG_URL });
      await cleanup.connect();
      try {
        await cleanup.query(`drop database if exists ${name} with (force)`);
      } finally {
        await cleanup.end();
      }
    },
  };
}

/**
 * `describe` once per engine. The body receives a getter for that engine's database, created
 * before the suite's tests and dropped after them.
 */
export function describeEachDatabase(title: string, body: (current: () => TestDatabase) => void): void {
  for (const engine of ['sqlite', 'postgres'] as const) {
    describe(`${title} [${engine}]`, async () => {
      if (engine === 'postgres' && !(await isPostgresAvailable())) {
        describe.skip('PostgreSQL unavailable', () => {
          body(() => {
            throw new Error('skipped');
          });
        });
        return;
      }
      let database: (TestDatabase & { drop(): Promise<void> }) | undefined;
      beforeAll(async () => {
        database = await createTestDatabase(engine);
      });
      afterAll(async () => {
        await database?.drop();
      });
      body(() => {
        if (!database) throw new Error('test database not ready');
        return database;
      });
    });
  }
}
