/**
 * Sync throughput with group commit: 64 concurrent connections each send batches of 10 changes
 * for 10 s (autocannon) to a real socket, on SQLite with synchronous=FULL (an fsync per commit).
 * Compared with the durable single-row commits/s the same database reaches one at a time: the
 * ratio says how far group commit takes the endpoint past one fsync per request (target ≥ 3).
 */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import { createAppPersistence } from '../examples/business-app/src/app-database.js';
import { buildTestApp, createTestUser, NO_SYNC_LIMITS, signInAs } from '../test/support/http-fixtures.js';
import { createTestDatabase, opsPerSecond, printResult, round } from './support.js';

const CONNECTIONS = 64;
const REQUEST_MODULE = fileURLToPath(new URL('./sync-throughput-request.cjs', import.meta.url));
/** The changes per request, as the request module builds them. */
const { BATCH } = createRequire(import.meta.url)(REQUEST_MODULE) as { BATCH: number };
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const BATCHES_PER_CLIENT = 20;

const database = await createTestDatabase('sqlite');
const { db } = database.opened;
const synchronous = (await sql<{ synchronous: number }>`pragma synchronous`.execute(db)).rows[0]?.synchronous;

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

// The load comes from a worker thread, as browsers are other machines: the server's event loop
// does not also build, send and parse the load generator's requests.
const result = await autocannon({
  url: `http://127.0.0.1:${port}`,
  connections: CONNECTIONS,
  duration: DURATION_S,
  workers: 1,
  // autocannon starts a fresh context (so a fresh clientId) each time a connection has gone through
  // its list of requests: a list of BATCHES_PER_CLIENT makes each connection one browser sending that
  // many batches in a row, mutation ids one after another, before the next browser takes its place.
  requests: Array.from({ length: BATCHES_PER_CLIENT }, () => ({
    method: 'POST',
    path: '/api/autosave/sync/',
    headers: { 'content-type': 'application/json', cookie: session.cookie, 'x-csrf-token': session.csrf },
    // biome-ignore lint/suspicious/noExplicitAny: in workers mode autocannon takes the module's path.
    setupRequest: REQUEST_MODULE as any,
  })),
});

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
await database.drop();

const appliedPerSec = applied / DURATION_S;
printResult({
  bench: 'sync_throughput',
  engine: 'sqlite',
  synchronous: synchronous === 2 ? 'FULL' : String(synchronous),
  connections: CONNECTIONS,
  batch_size: BATCH,
  batches_per_client: BATCHES_PER_CLIENT,
  clients: Number(clients),
  duration_s: DURATION_S,
  requests: result.requests.total,
  applied_changes_per_s: round(appliedPerSec, 1),
  latency_p50_ms: result.latency.p50,
  latency_p99_ms: result.latency.p99,
  errors: result.errors + result.timeouts + result.non2xx,
  single_row_commits_per_s: round(singleCommitsPerSec, 1),
  ratio: round(appliedPerSec / singleCommitsPerSec, 2),
  mean_group_commit_size: round(groupCount ? groupSum / groupCount : 0, 1),
});
