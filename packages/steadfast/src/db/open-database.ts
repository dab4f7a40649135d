/**
 * `openDatabase(url)`: one Kysely instance over SQLite (better-sqlite3, the embedded default) or
 * PostgreSQL (pg pool), migrated to the newest schema before it is returned.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Kysely, type KyselyConfig, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { type DialectName, dialectOf } from './dialect-name.js';
import { DatabaseUrlError } from './errors.js';
import { MIGRATION_TABLES, type MigrationSet, StaticMigrationProvider } from './migrations.js';
import { withPreparedStatements } from './prepared-statements.js';
import type { Database } from './schema.js';
import { withStatementCache } from './statement-cache.js';

export interface OpenDatabaseOptions {
  /** Run Steadfast's pending migrations before returning (default true). */
  readonly migrate?: boolean;
  /** Also create the tables of Steadfast's own sign-in (users, sessions) when migrating (default false). */
  readonly sessions?: boolean;
  /** PostgreSQL pool size (default 10). */
  readonly poolSize?: number;
  /**
   * PostgreSQL: run the statements every save runs as named prepared statements (default true; see
   * prepared-statements.ts). Turn off behind a pooler that cannot keep them, such as PgBouncer
   * before 1.21 in transaction mode.
   */
  readonly preparedStatements?: boolean;
  /** SQLite busy timeout in ms (default 5000): how long a writer waits for another process's lock. */
  readonly busyTimeoutMs?: number;
  /**
   * Kysely's query log: called for every statement the database runs, `begin` and `commit`
   * included (tracing, or counting round trips as the benchmarks do).
   */
  readonly log?: KyselyConfig['log'];
}

export interface OpenedDatabase {
  readonly db: Kysely<Database>;
  readonly dialect: DialectName;
  /** The URL with any password removed, safe to log. */
  readonly displayUrl: string;
  /** Closes the pool or file; pending queries finish first. */
  close(): Promise<void>;
}

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
  const db =
    dialect === 'sqlite' ? await openSqlite(location, options) : await openPostgres(location, options);
  const opened: OpenedDatabase = {
    db,
    dialect,
    displayUrl: redactUrl(url),
    close: () => db.destroy(),
  };
  if (options.migrate ?? true) {
    try {
      await migrateSteadfast(db, { sessions: options.sessions ?? false });
    } catch (error) {
      await db.destroy();
      throw error;
    }
  }
  return opened;
}

// The drivers are optional peer dependencies: each is loaded only when its engine is opened, so an
// app on PostgreSQL never needs better-sqlite3 installed, nor the reverse.
async function openSqlite(location: string, options: OpenDatabaseOptions): Promise<Kysely<Database>> {
  const { default: SqliteDatabase } = await import('better-sqlite3');
  if (location !== ':memory:') mkdirSync(dirname(resolve(location)), { recursive: true });
  const file = new SqliteDatabase(location);
  // WAL lets readers run beside the writer; synchronous=FULL fsyncs the WAL on every commit,
  // so an acknowledged change survives power loss, not just a process crash.
  file.pragma('journal_mode = WAL');
  file.pragma('synchronous = FULL');
  file.pragma('foreign_keys = ON');
  file.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
  return new Kysely<Database>({
    dialect: new SqliteDialect({ database: withStatementCache(file) }),
    log: options.log,
  });
}

async function openPostgres(
  connectionString: string,
  options: OpenDatabaseOptions,
): Promise<Kysely<Database>> {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 5000,
    // pg returns int8 (bigint, count(*)) as strings; every int8 here (ids, counts, epoch ms) fits
    // in 2^53. Parsed as numbers for this pool only: pg's global parsers belong to the app.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === pg.types.builtins.INT8
          ? (value: string) => Number.parseInt(value, 10)
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client's error (server restart) would otherwise crash the process.
  pool.on('error', () => {});
  // The statements every save runs go out as named prepared statements (prepared-statements.ts).
  return new Kysely<Database>({
    dialect: new PostgresDialect({
      pool: options.preparedStatements === false ? pool : withPreparedStatements(pool),
    }),
    log: options.log,
  });
}

export interface MigrateOptions {
  /** Also the tables of Steadfast's own sign-in (users, sessions); default false. */
  readonly sessions?: boolean;
}

// biome-ignore lint/suspicious/noExplicitAny: any app's Kysely instance, whatever its table types.
type AnyKysely = Kysely<any>;

function migratorFor(db: AnyKysely, set: MigrationSet): Migrator {
  return new Migrator({
    db,
    provider: new StaticMigrationProvider(dialectOf(db), set),
    ...MIGRATION_TABLES[set],
  });
}

function setsOf(options: MigrateOptions): MigrationSet[] {
  return options.sessions ? ['core', 'sessions'] : ['core'];
}

/**
 * Applies Steadfast's pending migrations to the app's own database, creating only Steadfast's
 * tables (all named `steadfast_*`, tracked in `steadfast_migration`, apart from the app's own
 * migrations). Returns the names applied. Call it from the app's migration step, or run
 * `npx steadfast migrate`.
 *
 * @example
 * await migrateSteadfast(db)                      // the log, drafts and sync clients
 * await migrateSteadfast(db, { sessions: true })  // and Steadfast's own users and sessions
 */
export async function migrateSteadfast(db: AnyKysely, options: MigrateOptions = {}): Promise<string[]> {
  const applied: string[] = [];
  for (const set of setsOf(options)) {
    const { error, results = [] } = await migratorFor(db, set).migrateToLatest();
    if (error) throw error;
    applied.push(...results.filter((r) => r.status === 'Success').map((r) => r.migrationName));
  }
  return applied;
}

export interface MigrationStatus {
  readonly applied: readonly string[];
  readonly pending: readonly string[];
}

/** Which of Steadfast's migrations the database has applied, and which it has not. */
export async function migrationStatus(db: AnyKysely, options: MigrateOptions = {}): Promise<MigrationStatus> {
  const applied: string[] = [];
  const pending: string[] = [];
  for (const set of setsOf(options)) {
    for (const migration of await migratorFor(db, set).getMigrations()) {
      (migration.executedAt === undefined ? pending : applied).push(migration.name);
    }
  }
  return { applied, pending };
}

/** Migrations this build knows that the database has not applied; empty when current. */
export async function pendingMigrations(db: AnyKysely, options: MigrateOptions = {}): Promise<string[]> {
  return [...(await migrationStatus(db, options)).pending];
}

/** A cheap round trip proving the database answers. */
export async function pingDatabase(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}
