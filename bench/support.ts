/**
 * Shared helpers of the benchmarks: real databases of both engines, a timer, and the one-line
 * JSON output every benchmark ends with.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../packages/steadfast/src/db/schema.js';
import { createTestDatabase, type EngineName, isPostgresAvailable } from '../test/support/databases.js';

export { createTestDatabase, type EngineName, isPostgresAvailable };

/** The engines to measure: both, unless PostgreSQL is unreachable (then said on stderr). */
export async function benchEngines(): Promise<EngineName[]> {
  return (await isPostgresAvailable()) ? ['sqlite', 'postgres'] : ['sqlite'];
}

/** Runs `op` back to back for `ms` milliseconds; returns operations per second. */
export async function opsPerSecond(ms: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  let count = 0;
  while (performance.now() - start < ms) {
    await op(count);
    count += 1;
  }
  return count / ((performance.now() - start) / 1000);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export function round(value: number, places = 3): number {
  const f = 10 ** places;
  return Math.round(value * f) / f;
}

/** Prints the benchmark's result as one JSON line: the line `npm run bench` collects. */
export function printResult(result: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Runs `op` back to back for `ms` and accounts for it: rate, and CPU per operation where measurable. */
export async function measuredOps(
  ms: number,
  op: (i: number) => Promise<unknown>,
  database?: DatabaseCpu,
): Promise<Measured> {
  let count = 0;
  return measure(database, async () => {
    await opsPerSecond(ms, (i) => {
      count += 1;
      return op(i);
    });
    return count;
  });
}

/** Runs `op` from `callers` concurrent loops for `ms`, accounted for as `measuredOps` does. */
export async function measuredConcurrentOps(
  callers: number,
  ms: number,
  op: (caller: number, i: number) => Promise<unknown>,
  database?: DatabaseCpu,
): Promise<Measured> {
  return measure(database, async () => {
    const end = performance.now() + ms;
    let count = 0;
    await Promise.all(
      Array.from({ length: callers }, async (_, caller) => {
        for (let i = 0; performance.now() < end; i += 1) {
          await op(caller, i);
          count += 1;
        }
      }),
    );
    return count;
  });
}

export interface Measured {
  readonly perSecond: number;
  /** This process's CPU time (user + system) per operation, µs. */
  readonly nodeCpuUs: number;
  /** The database's CPU time per operation, µs, when it can be read (PostgreSQL on this machine). */
  readonly dbCpuUs: number | undefined;
}

async function measure(database: DatabaseCpu | undefined, run: () => Promise<number>): Promise<Measured> {
  const dbBefore = await database?.read();
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const count = await run();
  const elapsed = performance.now() - start;
  const cpu = process.cpuUsage(cpuBefore);
  const dbAfter = await database?.read();
  const dbCpu = dbBefore && dbAfter ? cpuSpent(dbBefore, dbAfter) : undefined;
  return {
    perSecond: count / (elapsed / 1000),
    nodeCpuUs: (cpu.user + cpu.system) / count,
    dbCpuUs: dbCpu === undefined ? undefined : dbCpu / count,
  };
}

/** CPU time of a database's server processes, by process, µs so far. */
export interface DatabaseCpu {
  read(): Promise<ReadonlyMap<number, number> | undefined>;
}

/**
 * CPU spent between two readings. A process that appeared in between (a pooled connection opened
 * under the load) counts in full: all of its time falls within the interval.
 */
export function cpuSpent(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  let spent = 0;
  for (const [pid, us] of after) spent += us - (before.get(pid) ?? 0);
  return spent;
}

/**
 * The CPU time of the PostgreSQL backends serving one database, read from /proc (the server runs
 * on this machine here). Backends of other databases (other work on the same server) are left out,
 * as are the server's shared background processes. Undefined readings where /proc has no such
 * processes (a remote server).
 */
export function postgresCpu(db: Kysely<Database>): DatabaseCpu {
  return {
    async read() {
      const { rows } = await sql<{ pid: number }>`select pid from pg_stat_activity
        where datname = current_database() and backend_type = 'client backend'`.execute(db);
      const byPid = new Map<number, number>();
      for (const { pid } of rows) {
        try {
          // The scheduler's own count of time on a CPU, in ns (utime and stime in /proc/<pid>/stat
          // are sampled at each clock tick, too coarse for backends that run in short bursts).
          const ns = Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
          if (Number.isFinite(ns)) byPid.set(pid, ns / 1000);
        } catch {
          return undefined;
        }
      }
      return byPid;
    },
  };
}

/** What one kind of write costs the WAL, per operation (PostgreSQL). */
export interface WalPerOperation {
  /** Bytes of WAL records, full-page images excluded (they depend on when the last checkpoint ran). */
  readonly bytes: number;
  /** Bytes of full-page images: each page's first change after a checkpoint. */
  readonly fullPageBytes: number;
  /** Table rows written (heap inserts, updates, deletes). */
  readonly rows: number;
  /** Index entries written (b-tree leaf inserts). */
  readonly indexEntries: number;
}

/**
 * The WAL this database's own work wrote while `run` ran, per operation: the records between
 * `pg_current_wal_lsn()` before and after that touch this database's relations, and the commit
 * records of their transactions (pg_walinspect, so other databases' work on the same server is left
 * out). Undefined when pg_walinspect cannot be installed, or when the server recycled the run's WAL
 * before it was read.
 */
export async function walPerOperation(
  db: Kysely<Database>,
  run: () => Promise<number>,
): Promise<WalPerOperation | undefined> {
  try {
    await sql`create extension if not exists pg_walinspect`.execute(db);
  } catch {
    return undefined;
  }
  const lsn = async () =>
    (await sql<{ lsn: string }>`select pg_current_wal_lsn()::text as lsn`.execute(db)).rows[0]?.lsn;
  const start = await lsn();
  const count = await run();
  const end = await lsn();
  let rows: Array<{ kind: string; records: number; bytes: number; fpi: number }>;
  try {
    ({ rows } = await sql<{ kind: string; records: number; bytes: number; fpi: number }>`
    with records as (select * from pg_get_wal_records_info(${start}::pg_lsn, ${end}::pg_lsn)),
    here as (
      select r.* from records r, pg_database d
      where d.datname = current_database() and r.block_ref like '%rel ' || d.dattablespace || '/' || d.oid || '/%'
    )
    select resource_manager || ' ' || split_part(split_part(record_type, ' ', 1), '+', 1) as kind, count(*)::int as records,
      sum(record_length - fpi_length)::int as bytes, sum(fpi_length)::int as fpi
    from records
    where start_lsn in (select start_lsn from here)
      or (xid <> 0 and xid in (select xid from here))
    group by 1`.execute(db));
  } catch (error) {
    // The server recycled WAL segments the run wrote before they could be read (a busy shared
    // server, or a run longer than max_wal_size holds): the run's other figures still stand.
    if ((error as { code?: unknown }).code === '58P01') return undefined;
    throw error;
  }
  const sum = (pick: (row: (typeof rows)[number]) => number) =>
    rows.reduce((total, row) => total + pick(row), 0) / count;
  const recordsOf = (kinds: readonly string[]) => sum((row) => (kinds.includes(row.kind) ? row.records : 0));
  return {
    bytes: sum((row) => row.bytes),
    fullPageBytes: sum((row) => row.fpi),
    rows: recordsOf(['Heap INSERT', 'Heap UPDATE', 'Heap HOT_UPDATE', 'Heap DELETE', 'Heap2 MULTI_INSERT']),
    // A leaf split carries the entry that caused it; INSERT_UPPER is the split's downlink, no entry.
    indexEntries: recordsOf(['Btree INSERT_LEAF', 'Btree INSERT_POST', 'Btree SPLIT_L', 'Btree SPLIT_R']),
  };
}
