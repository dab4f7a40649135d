/**
 * What the Steadfast stack costs per request: an empty sync batch (session lookup, CSRF check,
 * rate limit, validation, the client's lastMutationId read) against a bare Fastify route taking
 * the same JSON body, both on a real socket (autocannon), both warmed up, taking turns (best of
 * two rounds each). Target: req/s ratio at least 0.5.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { createAppPersistence } from '../examples/business-app/src/app-database.js';
import { buildTestApp, createTestUser, NO_SYNC_LIMITS, signInAs } from '../test/support/http-fixtures.js';
import { createTestDatabase, printResult, round } from './support.js';

const CONNECTIONS = 10;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const body = JSON.stringify({ clientId: randomUUID(), changes: [] });

async function measure(url: string, headers: Record<string, string>) {
  const result = await autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: DURATION_S,
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { rps: result.requests.average, p99: result.latency.p99, errors: result.errors + result.non2xx };
}

const bare = Fastify();
bare.post('/bare', async () => ({
  status: 'ok',
  synced: 0,
  lastMutationId: 0,
  results: [],
  serverTime: new Date().toISOString(),
}));
await bare.listen({ port: 0, host: '127.0.0.1' });
const barePort = (bare.server.address() as AddressInfo).port;

const database = await createTestDatabase('sqlite');
const persistence = createAppPersistence({ db: database.opened.db });
const app = await buildTestApp(database, { persistence, limits: NO_SYNC_LIMITS });
const session = await signInAs(app, await createTestUser(persistence, 'overhead'));
await app.listen({ port: 0, host: '127.0.0.1' });
const port = (app.server.address() as AddressInfo).port;

const bareUrl = `http://127.0.0.1:${barePort}/bare`;
const syncUrl = `http://127.0.0.1:${port}/api/autosave/sync/`;
const syncHeaders = { cookie: session.cookie, 'x-csrf-token': session.csrf };

// Warm both up (JIT, connections, statement caches) before measuring: a cold route loses the
// comparison to one the JIT has already optimised.
const warm = (url: string, headers: Record<string, string>) =>
  autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: 1,
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
await warm(bareUrl, {});
await warm(syncUrl, syncHeaders);

// The two routes take turns, ROUNDS times each, and each keeps its best round: on a shared machine
// a burst of other work during one measurement would otherwise decide the ratio.
const ROUNDS = 2;
const bareRounds: Array<Awaited<ReturnType<typeof measure>>> = [];
const syncRounds: Array<Awaited<ReturnType<typeof measure>>> = [];
for (let round = 0; round < ROUNDS; round++) {
  bareRounds.push(await measure(bareUrl, {}));
  syncRounds.push(await measure(syncUrl, syncHeaders));
}
const best = (rounds: typeof bareRounds) =>
  rounds.reduce((a, b) => (b.rps > a.rps ? b : a), rounds[0] as (typeof rounds)[number]);
const bareResult = best(bareRounds);
const syncResult = best(syncRounds);
const errors = [...bareRounds, ...syncRounds].reduce((sum, r) => sum + r.errors, 0);
await app.close();
await bare.close();
await database.drop();

printResult({
  bench: 'http_overhead',
  engine: 'sqlite',
  connections: CONNECTIONS,
  duration_s: DURATION_S,
  bare_rps: round(bareResult.rps, 1),
  sync_empty_batch_rps: round(syncResult.rps, 1),
  sync_p99_ms: syncResult.p99,
  rounds: ROUNDS,
  errors,
  ratio: round(syncResult.rps / bareResult.rps, 3),
});
