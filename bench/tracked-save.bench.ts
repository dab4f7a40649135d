/**
 * tracked_save: single-record updates, plain Kysely against `autoSave` (transaction, version
 * check, read-back verification, hash-chained log entry), on SQLite (WAL, synchronous=FULL) and
 * PostgreSQL in the same run, from one caller and from 16 concurrent callers; beside them, the
 * floor of any audited save: the update and one log row in one transaction, nothing else.
 *
 * log_query_growth: the newest 50 entries of one record with 1,000 and with 1,000,000 log rows.
 */
import { performance } from 'node:perf_hooks';
import { type Kysely, sql } from 'kysely';
import { createAppPersistence } from '../examples/business-app/src/app-database.js';
import type { AppDatabase } from '../examples/business-app/src/schema.js';
import { productValues } from '../test/support/persistence-fixtures.js';
import {
  benchEngines,
  createTestDatabase,
  type EngineName,
  median,
  opsPerSecond,
  printResult,
  round,
} from './support.js';

const ROUNDS = 5;
const ROUND_MS = 1500;
const PRODUCTS = 100;
const CONCURRENT = 16;

/** Runs `op` from `callers` concurrent loops for `ms`; returns operations per second. */
async function concurrentOpsPerSecond(
  callers: number,
  ms: number,
  op: (caller: number, i: number) => Promise<unknown>,
) {
  const end = performance.now() + ms;
  let count = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async (_, caller) => {
      for (let i = 0; performance.now() < end; i += 1) {
        await op(caller, i);
        count += 1;
      }
    }),
  );
  return count / ((performance.now() - start) / 1000);
}

/**
 * Plain Kysely updates against `autoSave`, from one caller (sequential) and from CONCURRENT
 * callers on distinct records (a server under load). Rounds alternate so noise hits both alike.
 */
async function trackedSave(engine: EngineName) {
  const database = await createTestDatabase(engine);
  try {
    const { db } = database.opened;
    const persistence = createAppPersistence({ db });
    const ids: number[] = [];
    for (let i = 0; i < PRODUCTS; i += 1) {
      ids.push(Number((await persistence.autoSave('Product', productValues())).record.id));
    }
    const idAt = (i: number) => ids[i % ids.length] as number;
    let quantity = 0;
    const plainUpdate = (id: number) =>
      db
        .updateTable('products')
        .set({ quantity: ++quantity, updated_at: new Date().toISOString(), version: sql`version + 1` })
        .where('id', '=', id)
        .execute();
    const trackedUpdate = (id: number) => persistence.autoSave('Product', { id, quantity: ++quantity });
    // The least an audited save can cost: the same update and one log row of the same size in one
    // transaction, with no read, no verification, no hashing. autoSave against it is the overhead
    // that is ours; plain against it is what durably writing a log row costs on this machine.
    const sampleEntry = await db
      .selectFrom('steadfast_activity_log')
      .selectAll()
      .where('model', '=', 'Product')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirstOrThrow();
    const { id: _entryId, ...entryRow } = sampleEntry;
    let floorVersion = 0;
    const floorUpdate = (id: number) =>
      db.transaction().execute(async (trx) => {
        await (trx as unknown as Kysely<AppDatabase>)
          .updateTable('products')
          .set({ quantity: ++quantity, updated_at: new Date().toISOString(), version: sql`version + 1` })
          .where('id', '=', id)
          .execute();
        await trx
          .insertInto('steadfast_activity_log')
          .values({ ...entryRow, model: 'BenchFloor', object_id: String(id), version: ++floorVersion })
          .execute();
      });
    const figures = {
      plainSequential: [] as number[],
      floorSequential: [] as number[],
      autoSequential: [] as number[],
      plainConcurrent: [] as number[],
      floorConcurrent: [] as number[],
      autoConcurrent: [] as number[],
    };
    for (let round = 0; round < ROUNDS; round += 1) {
      figures.plainSequential.push(await opsPerSecond(ROUND_MS, (i) => plainUpdate(idAt(i))));
      figures.floorSequential.push(await opsPerSecond(ROUND_MS, (i) => floorUpdate(idAt(i))));
      figures.autoSequential.push(await opsPerSecond(ROUND_MS, (i) => trackedUpdate(idAt(i))));
      figures.plainConcurrent.push(
        await concurrentOpsPerSecond(CONCURRENT, ROUND_MS, (caller) => plainUpdate(idAt(caller))),
      );
      figures.floorConcurrent.push(
        await concurrentOpsPerSecond(CONCURRENT, ROUND_MS, (caller) => floorUpdate(idAt(caller))),
      );
      figures.autoConcurrent.push(
        await concurrentOpsPerSecond(CONCURRENT, ROUND_MS, (caller) => trackedUpdate(idAt(caller))),
      );
    }
    const summary = (plain: number[], floor: number[], auto: number[]) => ({
      plain_updates_per_s: round(median(plain), 1),
      autosave_updates_per_s: round(median(auto), 1),
      ratio: round(median(auto) / median(plain)),
      update_plus_log_row_per_s: round(median(floor), 1),
      ratio_to_update_plus_log_row: round(median(auto) / median(floor)),
    });
    return {
      sequential: summary(figures.plainSequential, figures.floorSequential, figures.autoSequential),
      [`concurrent_${CONCURRENT}`]: summary(
        figures.plainConcurrent,
        figures.floorConcurrent,
        figures.autoConcurrent,
      ),
      // Concurrent autoSave calls are written in batches on both engines (SaveBatcher); a lone
      // caller's save is always alone in its transaction.
      batched_saves: true,
    };
  } finally {
    await database.drop();
  }
}

/**
 * The newest 50 entries of one record, in a log of 1,000 rows and in one of 1,000,000 rows: two
 * databases, queried alternately so that machine noise falls on both alike.
 */
async function logQueryGrowth(engine: EngineName) {
  const small = await logOfSize(engine, 1_000);
  const large = await logOfSize(engine, 1_000_000);
  try {
    const samples = { small: [] as number[], large: [] as number[] };
    for (let i = 0; i < 400; i += 1) {
      samples.small.push(await small.timeQuery());
      samples.large.push(await large.timeQuery());
    }
    const smallMs = median(samples.small.slice(50));
    const largeMs = median(samples.large.slice(50));
    return { ms_1k_rows: round(smallMs, 4), ms_1m_rows: round(largeMs, 4), ratio: round(largeMs / smallMs) };
  } finally {
    await small.drop();
    await large.drop();
  }
}

/** A database whose log holds `total` rows: 61 entries of one product, the rest spread over 50,000 others. */
async function logOfSize(engine: EngineName, total: number) {
  const database = await createTestDatabase(engine);
  const { db } = database.opened;
  const persistence = createAppPersistence({ db });
  const target = Number((await persistence.autoSave('Product', productValues())).record.id);
  for (let v = 0; v < 60; v += 1) await persistence.autoSave('Product', { id: target, quantity: v + 1 });
  const add = total - 61;
  const now = new Date().toISOString();
  if (engine === 'sqlite') {
    await sql`with recursive n(i) as (select 1 union all select i + 1 from n where i < ${add})
      insert into steadfast_activity_log (created_at, actor, action, model, object_id, changes, snapshot, version, hash)
      select ${now}, 'bench', 'update', 'Product', cast(1000000 + (i % 50000) as text), '{}', '{}', i, 'x' from n`.execute(
      db,
    );
    await sql`analyze`.execute(db);
  } else {
    await sql`insert into steadfast_activity_log (created_at, actor, action, model, object_id, changes, snapshot, version, hash)
      select ${now}, 'bench', 'update', 'Product', (1000000 + (i % 50000))::text, '{}', '{}', i, 'x'
      from generate_series(1, ${add}::int) as i`.execute(db);
    await sql`analyze steadfast_activity_log`.execute(db);
  }
  return {
    async timeQuery(): Promise<number> {
      const start = performance.now();
      const page = await persistence.activityLog.query({
        model: 'Product',
        objectId: String(target),
        limit: 50,
      });
      const elapsed = performance.now() - start;
      if (page.entries.length !== 50) throw new Error('expected 50 entries');
      return elapsed;
    },
    drop: () => database.drop(),
  };
}

const engines = await benchEngines();
const saves: Record<string, unknown> = {};
const growth: Record<string, unknown> = {};
// `tsx bench/tracked-save.bench.ts growth` (or `saves`) runs one half only.
const only = process.argv[2];
if (only !== 'saves') {
  for (const engine of engines) growth[engine] = await logQueryGrowth(engine);
  printResult({ bench: 'log_query_growth', ...growth, target_ratio_at_most: 2 });
}
if (only !== 'growth') {
  for (const engine of engines) saves[engine] = await trackedSave(engine);
  printResult({ bench: 'tracked_save', ...saves, target_ratio_at_least: 0.75 });
}
