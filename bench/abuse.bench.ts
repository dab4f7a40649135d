/**
 * One account against everyone else, under the default limits (issue 18): 32 connections, each a
 * user of its own, sync ordinary form drafts at a typing pace (one change every 500 ms) for
 * DURATION_S: alone, then beside one account sending the largest drafts its limits allow (2000
 * keys, 256 KiB of JSON each, every value changed every time) in two ways. Paced: 4 requests in
 * flight, each sent again as soon as answered or as its Retry-After allows, so the account gets all
 * the work its limits allow. Flooding: as fast as 4 connections can, whatever the answers, so most
 * are refused (the refusals must cost next to nothing). The ordinary users' p99 latency beside each
 * is compared with their p99 alone (target ≤ 2×), and their errors counted (target 0).
 */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import autocannon from 'autocannon';
import { createAppPersistence } from '../examples/business-app/src/app-database.js';
import { DEFAULT_DRAFT_LIMITS } from '../packages/steadfast/src/sync/draft-limits.js';
import { buildTestApp, createTestUser, signInAs, type TestSession } from '../test/support/http-fixtures.js';
import { createTestDatabase, printResult, round } from './support.js';

const NORMAL_CONNECTIONS = 32;
/** Requests a second per ordinary connection: a user typing, the service syncing every 500 ms. */
const NORMAL_RATE = 2;
const ABUSER_CONNECTIONS = 4;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const NORMAL_MODULE = fileURLToPath(new URL('./abuse-normal-request.cjs', import.meta.url));
const HEAVY_MODULE = fileURLToPath(new URL('./abuse-heavy-request.cjs', import.meta.url));
const PACED_WORKER = fileURLToPath(new URL('./abuse-paced-worker.cjs', import.meta.url));

const database = await createTestDatabase('sqlite');
const persistence = createAppPersistence({ db: database.opened.db });
// The library's defaults: the bench measures what an app gets without configuring anything.
const app = await buildTestApp(database, { persistence });
const normalSessions: TestSession[] = [];
for (let i = 0; i < NORMAL_CONNECTIONS; i += 1) {
  normalSessions.push(await signInAs(app, await createTestUser(persistence, `typist${i}`)));
}
const abuser = await signInAs(app, await createTestUser(persistence, 'abuser'));
await app.listen({ port: 0, host: '127.0.0.1' });
const { port } = app.server.address() as AddressInfo;
const url = `http://127.0.0.1:${port}`;
const sessionsJson = (sessions: readonly TestSession[]) =>
  JSON.stringify(sessions.map(({ cookie, csrf }) => ({ cookie, csrf })));

// The worker threads read their sessions and the abuser's draft shape from the environment.
process.env.STEADFAST_BENCH_DRAFT_KEYS = String(DEFAULT_DRAFT_LIMITS.draftKeys);
process.env.STEADFAST_BENCH_DRAFT_BYTES = String(DEFAULT_DRAFT_LIMITS.draftBytes);
const heavyDraftBytes = (() => {
  process.env.STEADFAST_BENCH_SESSIONS = sessionsJson([abuser]);
  const setup = createRequire(import.meta.url)(HEAVY_MODULE) as (request: object) => { body: string };
  const body = JSON.parse(setup({}).body) as { changes: Array<{ data: unknown }> };
  return Buffer.byteLength(JSON.stringify(body.changes[0]?.data));
})();
if (heavyDraftBytes > DEFAULT_DRAFT_LIMITS.draftBytes)
  throw new Error(`abuser's draft is ${heavyDraftBytes} bytes`);

function normalLoad(durationS = DURATION_S): Promise<autocannon.Result> {
  process.env.STEADFAST_BENCH_SESSIONS = sessionsJson(normalSessions);
  return autocannon({
    url,
    connections: NORMAL_CONNECTIONS,
    connectionRate: NORMAL_RATE,
    duration: durationS,
    workers: 1,
    requests: Array.from({ length: 1000 }, () => ({
      method: 'POST',
      path: '/api/autosave/sync/',
      headers: { 'content-type': 'application/json' },
      // biome-ignore lint/suspicious/noExplicitAny: in workers mode autocannon takes the module's path.
      setupRequest: NORMAL_MODULE as any,
    })),
  });
}

function abuserLoad(): Promise<autocannon.Result> {
  process.env.STEADFAST_BENCH_SESSIONS = sessionsJson([abuser]);
  return autocannon({
    url,
    connections: ABUSER_CONNECTIONS,
    duration: DURATION_S,
    workers: 1,
    requests: [
      {
        method: 'POST',
        path: '/api/autosave/sync/',
        headers: { 'content-type': 'application/json' },
        // biome-ignore lint/suspicious/noExplicitAny: in workers mode autocannon takes the module's path.
        setupRequest: HEAVY_MODULE as any,
      },
    ],
  });
}

/** The paced abuser, in a worker thread; resolves to its answers by status. */
function pacedAbuser(): Promise<Record<string, number>> {
  const worker = new Worker(PACED_WORKER, {
    workerData: {
      url,
      loops: ABUSER_CONNECTIONS,
      durationMs: DURATION_S * 1000,
      sessions: sessionsJson([abuser]),
      draftKeys: String(DEFAULT_DRAFT_LIMITS.draftKeys),
      draftBytes: String(DEFAULT_DRAFT_LIMITS.draftBytes),
    },
  });
  return new Promise((resolve, reject) => {
    worker.once('message', (statuses: Record<string, number>) => {
      void worker.terminate();
      resolve(statuses);
    });
    worker.once('error', reject);
  });
}

/** The normal load beside `abuse`, started 200 ms after it (each worker copies the environment as it starts). */
async function beside<T>(abuse: () => Promise<T>): Promise<[autocannon.Result, T]> {
  const normal = normalLoad();
  await new Promise((resolve) => setTimeout(resolve, 200));
  return Promise.all([normal, abuse()]);
}

const errorsOf = (result: autocannon.Result) => result.errors + result.timeouts + result.non2xx;
const statuses = (result: autocannon.Result) =>
  Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [code, stat.count ?? 0]),
  );

// A short run first, unmeasured: the baseline must not carry the server's warm-up.
await normalLoad(3);
const alone = await normalLoad();
const [besidePaced, paced] = await beside(pacedAbuser);
// A minute's allowance apart, so the flood meets the limits as a fresh account would.
await new Promise((resolve) => setTimeout(resolve, 1000));
const [besideFlood, flood] = await beside(abuserLoad);
const worst = Math.max(besidePaced.latency.p99, besideFlood.latency.p99);

await app.close();
await database.drop();

printResult({
  bench: 'abuse',
  engine: 'sqlite',
  duration_s: DURATION_S,
  normal_connections: NORMAL_CONNECTIONS,
  normal_requests_per_s_each: NORMAL_RATE,
  abuser_connections: ABUSER_CONNECTIONS,
  abuser_draft_bytes: heavyDraftBytes,
  abuser_draft_keys: DEFAULT_DRAFT_LIMITS.draftKeys,
  normal_p50_ms_alone: alone.latency.p50,
  normal_p99_ms_alone: alone.latency.p99,
  normal_p99_ms_beside_paced: besidePaced.latency.p99,
  normal_p99_ms_beside_flood: besideFlood.latency.p99,
  p99_ratio: round(worst / Math.max(1, alone.latency.p99), 2),
  normal_requests: alone.requests.total + besidePaced.requests.total + besideFlood.requests.total,
  normal_errors: errorsOf(alone) + errorsOf(besidePaced) + errorsOf(besideFlood),
  paced_abuser_statuses: paced,
  flood_abuser_requests: flood.requests.total,
  flood_abuser_statuses: statuses(flood),
});
