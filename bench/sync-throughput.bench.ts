/**
 * Sync throughput with group commit: 64 concurrent connections each send batches of 10 changes
 * for 10 s (autocannon) to a real socket, on SQLite with synchronous=FULL (an fsync per commit).
 *
 * Two ratios. `ratio`: against the durable single-row commits/s the same database reaches one at
 * a time, how far group commit takes the endpoint past one fsync per request; that rate follows
 * the disk. `ratio_to_bare_route`: against a bare Fastify route in the same process that takes
 * the same bodies from the same load, parses them (JSON, then the protocol's zod schema) and
 * answers, but stores nothing and checks no session: what the endpoint costs beyond receiving a
 * sync request at all, the endpoint being CPU-bound (target ≥ 0.4). `ratio_to_bare_route_fast_check`:
 * the same against a bare route that checks bodies as the endpoint now does (asValidSyncRequest,
 * the schema only for a body in doubt), a floor about twice as fast: the stricter figure.
 *
 * `postgres`: the same load on PostgreSQL, with what each applied change costs there (the CPU of
 * this process's main thread and of the database's backends, the WAL written, rows and index
 * entries): the per-change costs docs/scaling.md builds its capacity model on.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { sql } from 'kysely';
import { createAppPersistence } from '../examples/business-app/src/app-database.js';
import { asValidSyncRequest, syncRequestSchema } from '../packages/steadfast/src/protocol/sync.js';
import { buildTestApp, createTestUser, NO_SYNC_LIMITS, signInAs } from '../test/support/http-fixtures.js';
import {
  cpuSpent,
  createTestDatabase,
  isPostgresAvailable,
  opsPerSecond,
  postgresCpu,
  printResult,
  round,
  walPerOperation,
} from './support.js';

const CONNECTIONS = 64;
const REQUEST_MODULE = fileURLToPath(new URL('./sync-throughput-request.cjs', import.meta.url));
/** The changes per request, as the request module builds them. */
const { BATCH } = createRequire(import.meta.url)(REQUEST_MODULE) as { BATCH: number };
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const BATCHES_PER_CLIENT = 20;

/** 64 connections for DURATION_S against `port`, each a browser sending BATCHES_PER_CLIENT batches. */
function load(port: number, headers: Record<string, string>) {
  // The load comes from a worker thread, as browsers are other machines: the server's event loop
  // does not also build, send and parse the load generator's requests.
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: DURATION_S,
    workers: 1,
    // autocannon starts a fresh context (so a fresh clientId) each time a connection has gone
    // through its list of requests: a list of BATCHES_PER_CLIENT makes each connection one browser
    // sending that many batches in a row, mutation ids one after another, before the next browser
    // takes its place.
    requests: Array.from({ length: BATCHES_PER_CLIENT }, () => ({
      method: 'POST',
      path: '/api/autosave/sync/',
      headers: { 'content-type': 'application/json', ...headers },
      // biome-ignore lint/suspicious/noExplicitAny: in workers mode autocannon takes the module's path.
      setupRequest: REQUEST_MODULE as any,
    })),
  });
}

/**
 * CPU time of this process's main thread so far, µs: the server's event loop and, on SQLite, the
 * database itself. The load generator's worker thread is left out. Undefined off Linux.
 */
function mainThreadCpuUs(): number | undefined {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
  } catch {
    return undefined;
  }
}

/** The bare route's requests/s and errors under the same load. */
async function bareRoute(check: 'schema' | 'fast') {
  // The same path and body, parsed, answered with a response of the same shape (every change
  // applied); nothing stored, no session, no CSRF check. `fast`: a body certainly valid is taken as
  // it is (asValidSyncRequest), as the endpoint does; else, and with `schema`, the zod schema's copy.
  const bare = Fastify({ bodyLimit: 1024 * 1024 });
  bare.post('/api/autosave/sync/', async (request) => {
    const parsed =
      (check === 'fast' ? asValidSyncRequest(request.body) : undefined) ??
      syncRequestSchema.safeParse(request.body).data;
    if (!parsed) throw new Error('the load sent an invalid body');
    const { changes } = parsed;
    return {
      status: 'ok',
      synced: changes.length,
      lastMutationId: changes.at(-1)?.mutationId ?? 0,
      results: changes.map((change) => ({ mutationId: change.mutationId, status: 'applied' })),
      serverTime: new Date().toISOString(),
    };
  });
  await bare.listen({ port: 0, host: '127.0.0.1' });
  try {
    const result = await load((bare.server.address() as AddressInfo).port, {});
    return { perSecond: result.requests.average, errors: result.errors + result.timeouts + result.non2xx };
  } finally {
    await bare.close();
  }
}

/** The sync endpoint of the demo's app on `engine`, under the load; what each applied change cost. */
async function syncEndpoint(engine: 'sqlite' | 'postgres') {
  const database = await createTestDatabase(engine);
  const { db } = database.opened;
  try {
    const synchronous =
      engine === 'sqlite'
        ? (await sql<{ synchronous: number }>`pragma synchronous`.execute(db)).rows[0]?.synchronous
        : undefined;
    // Baseline: one durable single-row commit at a time.
    let n = 0;
    const singleCommitsPerSec = await opsPerSecond(3000, async () => {
      n += 1;
      await db
        .insertInto('settings')
        .values({ id: `bench.${n}`, value: '"x"', version: 1, updated_at: new Date().toISOString() })
        .execute();
    });

    const persistence = createAppPersistence({ db });
    const app = await buildTestApp(database, { persistence, limits: NO_SYNC_LIMITS });
    const session = await signInAs(app, await createTestUser(persistence, 'bench'));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;

    const headers = { cookie: session.cookie, 'x-csrf-token': session.csrf };
    const dbCpu = engine === 'postgres' ? postgresCpu(db) : undefined;
    const dbCpuBefore = await dbCpu?.read();
    const cpuBefore = mainThreadCpuUs();
    let result: Awaited<ReturnType<typeof load>> | undefined;
    const wal =
      engine === 'postgres'
        ? await walPerOperation(db, async () => {
            result = await load(port, headers);
            return 1;
          })
        : undefined;
    result ??= await load(port, headers);
    const cpuAfter = mainThreadCpuUs();
    const dbCpuAfter = await dbCpu?.read();

    const metrics = await app.metrics.getSingleMetricAsString('steadfast_sync_changes_total');
    const applied = Number(/status="applied"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    const groups = await app.metrics.getSingleMetricAsString('steadfast_group_commit_size');
    const groupSum = Number(/_sum (\d+)/.exec(groups)?.[1] ?? 0);
    const groupCount = Number(/_count (\d+)/.exec(groups)?.[1] ?? 0);
    const { clients } = await db
      .selectFrom('steadfast_sync_clients')
      .select((eb) => eb.fn.countAll<number>().as('clients'))
      .executeTakeFirstOrThrow();
    await app.close();

    const dbCpuUs = dbCpuBefore && dbCpuAfter ? cpuSpent(dbCpuBefore, dbCpuAfter) : undefined;
    const perChange = (total: number | undefined) =>
      total === undefined || applied === 0 ? undefined : round(total / applied, 1);
    const appliedPerSec = applied / DURATION_S;
    return {
      synchronous: synchronous === undefined ? undefined : synchronous === 2 ? 'FULL' : String(synchronous),
      connections: CONNECTIONS,
      batch_size: BATCH,
      batches_per_client: BATCHES_PER_CLIENT,
      clients: Number(clients),
      duration_s: DURATION_S,
      requests: result.requests.total,
      requests_per_s: round(result.requests.average, 1),
      applied_changes_per_s: round(appliedPerSec, 1),
      latency_p50_ms: result.latency.p50,
      latency_p99_ms: result.latency.p99,
      errors: result.errors + result.timeouts + result.non2xx,
      single_row_commits_per_s: round(singleCommitsPerSec, 1),
      ratio: round(appliedPerSec / singleCommitsPerSec, 2),
      mean_group_commit_size: round(groupCount ? groupSum / groupCount : 0, 1),
      node_cpu_us_per_change: perChange(
        cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
      ),
      ...(engine === 'postgres'
        ? {
            db_cpu_us_per_change: perChange(dbCpuUs),
            wal_bytes_per_change: perChange(wal?.bytes),
            rows_written_per_change: wal && applied ? round(wal.rows / applied, 2) : undefined,
            index_entries_written_per_change:
              wal && applied ? round(wal.indexEntries / applied, 2) : undefined,
          }
        : {}),
    };
  } finally {
    await database.drop();
  }
}

// The bare route runs before and after each endpoint, and each endpoint is compared with the mean of
// the two runs beside it: load from elsewhere on the machine drifts over a minute.
const bareRuns = [await bareRoute('schema')];
const fastRuns = [await bareRoute('fast')];
const sqlite = await syncEndpoint('sqlite');
bareRuns.push(await bareRoute('schema'));
fastRuns.push(await bareRoute('fast'));
const postgres = (await isPostgresAvailable()) ? await syncEndpoint('postgres') : undefined;
if (postgres) bareRuns.push(await bareRoute('schema'));
const bareAround = (first: number) => {
  const runs = bareRuns.slice(first, first + 2);
  return runs.reduce((sum, run) => sum + run.perSecond, 0) / runs.length;
};
const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
const bare = {
  perSecond: bareAround(0),
  errors: [...bareRuns, ...fastRuns].reduce((sum, run) => sum + run.errors, 0),
};

printResult({
  bench: 'sync_throughput',
  engine: 'sqlite',
  ...sqlite,
  bare_route_requests_per_s: round(bare.perSecond, 1),
  bare_route_errors: bare.errors,
  ratio_to_bare_route: round(sqlite.requests_per_s / bare.perSecond, 3),
  bare_route_fast_check_requests_per_s: round(mean(fastRuns.map((run) => run.perSecond)), 1),
  ratio_to_bare_route_fast_check: round(
    sqlite.requests_per_s / mean(fastRuns.map((run) => run.perSecond)),
    3,
  ),
  ...(postgres
    ? {
        postgres: {
          ...postgres,
          bare_route_requests_per_s: round(bareAround(1), 1),
          ratio_to_bare_route: round(postgres.requests_per_s / bareAround(1), 3),
        },
      }
    : {}),
  target_ratio_to_bare_route_at_least: 0.4,
});
