/**
 * `openDatabase(url)`: one Kysely instance over SQLite (better-sqlite3, the embedded default) or
 * PostgreSQL (pg pool), migrated to the newest schema before it is returned.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { DialectName } from './dialect-name.js';
import { DatabaseUrlError } from './errors.js';
import { StaticMigrationProvider } from './migrations.js';
import type { Database } from './schema.js';
import { withStatementCache } from './statement-cache.js';

export interface OpenDatabaseOptions {
  /** Run pending migrations before returning (default true). */
  readonly migrate?: boolean;
  /** PostgreSQL pool size (default 10). */
  readonly poolSize?: number;
  /** SQLite busy timeout in ms (default 5000): how long a writer waits for another process's lock. */
  readonly busyTimeoutMs?: number;
}

export interface OpenedDatabase {
  readonly db: Kysely<Database>;
  readonly dialect: DialectName;
  /** The URL with any password removed, safe to log. */
  readonly displayUrl: string;
  /** Closes the pool or file; pending queries finish first. */
  close(): Promise<void>;
}

// pg returns int8 (bigint, count(*)) as strings; every int8 here (ids, counts, epoch ms)
// fits in 2^53, so parse them as numbers once, for the whole process.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number.parseInt(value, 10));

/** Parses `sqlite:<file>`, `sqlite::memory:` or `postgres://…` / `postgresql://…`. */
export function parseDatabaseUrl(url: string): { dialect: DialectName; location: string } {
  if (url.startsWith('sqlite:')) {
    const location = url.slice('sqlite:'.length).replace(/^\/\//, '');
    if (!location) throw new DatabaseUrlError(`DATABASE_URL "${url}" names no SQLite file`);
    return { dialect: 'sqlite', location };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new DatabaseUrlError(`DATABASE_URL "${redactUrl(url)}" is not a valid URL`);
    }
    return { dialect: 'postgres', location: url };
  }
  throw new DatabaseUrlError(
    `DATABASE_URL must start with "sqlite:" or "postgres://", got "${redactUrl(url)}"`,
  );
}

/**
 * Hides the password of any `scheme:[//]user:password@…`, well formed or not: a mistyped URL
 * (`postgres:/user:pw@host`) is exactly the one that ends up in an error message.
 */
function redactUrl(url: string): string {
  const at = url.lastIndexOf('@');
  if (at === -1) return url;
  const userStart = /^[a-z][a-z0-9+.-]*:\/*/i.exec(url)?.[0].length ?? 0;
  const userinfo = url.slice(userStart, at);
  const colon = userinfo.indexOf(':');
  if (colon === -1) return url;
  return `${url.slice(0, userStart)}${userinfo.slice(0, colon)}:***${url.slice(at)}`;
}

export async function openDatabase(url: string, options: OpenDatabaseOptions = {}): Promise<OpenedDatabase> {
  const { dialect, location } = parseDatabaseUrl(url);
  const db = dialect === 'sqlite' ? openSqlite(location, options) : openPostgres(location, options);
  const opened: OpenedDatabase = {
    db,
    dialect,
    displayUrl: redactUrl(url),
    close: () => db.destroy(),
  };
  if (options.migrate ?? true) {
    try {
      await migrateSteadfast(opened);
    } catch (error) {
      await db.destroy();
      throw error;
    }
  }
  return opened;
}

function openSqlite(location: string, options: OpenDatabaseOptions): Kysely<Database> {
  if (location !== ':memory:') mkdirSync(dirname(resolve(location)), { recursive: true });
  const file = new SqliteDatabase(location);
  // WAL lets readers run beside the writer; synchronous=FULL fsyncs the WAL on every commit,
  // so an acknowledged change survives power loss, not just a process crash.
  file.pragma('journal_mode = WAL');
  file.pragma('synchronous = FULL');
  file.pragma('foreign_keys = ON');
  file.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(file) }) });
}

function openPostgres(connectionString: string, options: OpenDatabaseOptions): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 5000,
  });
  // An idle client's error (server restart) would otherwise crash the process.
  pool.on('error', () => {});
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/** Applies Steadfast's pending migrations; returns the names applied, in order. */
export async function migrateSteadfast(opened: Pick<OpenedDatabase, 'db' | 'dialect'>): Promise<string[]> {
  const migrator = new Migrator({
    db: opened.db,
    provider: new StaticMigrationProvider(opened.dialect),
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error) throw error;
  return results.filter((result) => result.status === 'Success').map((result) => result.migrationName);
}

export interface MigrationStatus {
  readonly applied: readonly string[];
  readonly pending: readonly string[];
}

/** Which of Steadfast's migrations the database has applied, and which it has not. */
export async function migrationStatus(
  opened: Pick<OpenedDatabase, 'db' | 'dialect'>,
): Promise<MigrationStatus> {
  const migrator = new Migrator({ db: opened.db, provider: new StaticMigrationProvider(opened.dialect) });
  const migrations = await migrator.getMigrations();
  return {
    applied: migrations.filter((m) => m.executedAt !== undefined).map((m) => m.name),
    pending: migrations.filter((m) => m.executedAt === undefined).map((m) => m.name),
  };
}

/** Migrations this build knows that the database has not applied; empty when current. */
export async function pendingMigrations(opened: Pick<OpenedDatabase, 'db' | 'dialect'>): Promise<string[]> {
  return [...(await migrationStatus(opened)).pending];
}

/** A cheap round trip proving the database answers. */
export async function pingDatabase(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}
