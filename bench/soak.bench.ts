/**
 * soak: 60 s of mixed traffic at 64 connections (autocannon) against the real app process on
 * 127.0.0.1 over SQLite: sync batches (40 %), product saves through the edit form (30 %), and
 * activity queries, JSON and page (30 %). Reports requests, errors (any transport error or any
 * answer other than the expected 200/303), p50/p99 latency and the server's RSS before and after.
 *
 * The app has no setting for its rate limits (login 10/min per IP, sync 300/min per user), so the
 * bench stays under them instead: 128 users, two per connection, signed in from 16 loopback
 * addresses (127.0.0.100–115), eight sign-ins each. `SOAK_SECONDS` shortens the run.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { createAppPersistence } from '../examples/business-app/src/app-database.js';
import { createAppUser } from '../examples/business-app/src/users.js';
import { SYNC_PATH } from '../packages/steadfast/src/protocol/constants.js';
import { LOAD_TEST_ENV, ServerProcess, sleep, WebClient } from '../test/support/server-process.js';
import { createTestDatabase, printResult, round } from './support.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const CONNECTIONS = 64;
const USERS = CONNECTIONS * 2;
const PASSWORD = 'soak-password';

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

interface Seat {
  readonly web: WebClient;
  readonly clientId: string;
  nextMutation: number;
  /** The batch in flight, resent until answered 200 (as the browser service does). */
  pending: Array<Record<string, unknown>>;
  busy: boolean;
}

interface Product {
  readonly id: number;
  readonly sku: string;
  version: number;
  busy: boolean;
}

/**
 * autocannon keeps a context per connection only for one request and its answer, so every
 * request takes what it needs (a seat: a user's session and clientId; a product: its version)
 * from a pool and gives it back with its answer; nothing is used by two requests at once.
 */
interface Cycle {
  kind?: 'sync' | 'save' | 'activity-json' | 'activity-page';
  seat?: Seat;
  product?: Product;
}

const database = await createTestDatabase('sqlite');
const persistence = createAppPersistence({ db: database.opened.db });
process.stderr.write(`soak: creating ${USERS} users\n`);
const users = [];
for (let i = 0; i < USERS; i += 1) {
  users.push(
    // Editors: each creates and changes products (the demo's roles, roles.ts).
    await createAppUser(persistence, {
      username: `soak${i}`,
      displayName: `Soak ${i}`,
      password: PASSWORD,
      role: 'editor',
    }),
  );
}
const server = await ServerProcess.start({ databaseUrl: database.url, env: LOAD_TEST_ENV });
const pid = server.pid as number;

process.stderr.write('soak: signing in and creating one product per connection\n');
const seats: Seat[] = [];
for (let i = 0; i < USERS; i += 1) {
  const web = new WebClient(server.baseUrl, { localAddress: `127.0.0.${100 + Math.floor(i / 8)}` });
  await web.signIn(`soak${i}`, PASSWORD);
  seats.push({ web, clientId: randomUUID(), nextMutation: 1, pending: [], busy: false });
}
const products: Product[] = [];
for (let c = 0; c < CONNECTIONS; c += 1) {
  const web = (seats[c] as Seat).web;
  await web.request('/products/new', { headers: { accept: 'text/html' } });
  const created = await web.postForm('/products', {
    sku: `SOAK-P${c}`,
    name: `Soak product ${c}`,
    description: '',
    price: '10.00',
    quantity: '1',
    category: 'Soak',
    active: '1',
  });
  const id = Number(/\/products\/(\d+)\//.exec(String(created.headers.location))?.[1]);
  if (created.status !== 303 || !id) throw new Error(`creating a product answered ${created.status}`);
  products.push({ id, sku: `SOAK-P${c}`, version: 1, busy: false });
}

let seatCursor = 0;
let productCursor = 0;
function take<T extends { busy: boolean }>(pool: readonly T[], cursor: number): [T, number] {
  for (let i = 0; i < pool.length; i += 1) {
    const index = (cursor + i) % pool.length;
    const item = pool[index] as T;
    if (!item.busy) {
      item.busy = true;
      return [item, index + 1];
    }
  }
  throw new Error('pool exhausted: more requests in flight than connections');
}

const unexpected: Record<string, number> = {};
let syncChangesApplied = 0;

function setupRequest(request: autocannon.Request, context: object): autocannon.Request {
  const cycle = context as Cycle;
  const roll = Math.random();
  if (roll < 0.4) {
    const [seat, next] = take(seats, seatCursor);
    seatCursor = next;
    cycle.kind = 'sync';
    cycle.seat = seat;
    if (seat.pending.length === 0) {
      const count = 1 + Math.floor(Math.random() * 3);
      for (let i = 0; i < count; i += 1) {
        const m = seat.nextMutation;
        seat.nextMutation += 1;
        seat.pending.push({
          mutationId: m,
          kind: 'form',
          key: `product-${1 + (m % CONNECTIONS)}`,
          data: { name: `typed ${m}`, price: '10.00' },
          savedAt: new Date().toISOString(),
        });
      }
    }
    return {
      ...request,
      method: 'POST',
      path: SYNC_PATH,
      headers: {
        cookie: seat.web.cookieHeader,
        'x-csrf-token': seat.web.csrfToken ?? '',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ clientId: seat.clientId, changes: seat.pending }),
    };
  }
  // Saves and reads use any seat's session (a session serves concurrent requests).
  const seat = seats[Math.floor(Math.random() * seats.length)] as Seat;
  if (roll < 0.7) {
    const [product, next] = take(products, productCursor);
    productCursor = next;
    cycle.kind = 'save';
    cycle.product = product;
    return {
      ...request,
      method: 'POST',
      path: `/products/${product.id}`,
      headers: {
        cookie: seat.web.cookieHeader,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'text/html',
      },
      body: new URLSearchParams({
        _csrf: seat.web.csrfToken ?? '',
        sku: product.sku,
        name: `Soak product ${product.id} v${product.version + 1}`,
        description: 'Saved under load',
        price: `${10 + (product.version % 50)}.00`,
        quantity: String(product.version),
        category: 'Soak',
        active: '1',
        version: String(product.version),
      }).toString(),
    };
  }
  const json = roll < 0.85;
  cycle.kind = json ? 'activity-json' : 'activity-page';
  return {
    ...request,
    method: 'GET',
    path: json ? '/api/activity?limit=20' : '/activity',
    headers: { cookie: seat.web.cookieHeader, accept: json ? 'application/json' : 'text/html' },
    body: undefined,
  };
}

function onResponse(status: number, body: string, context: object): void {
  const cycle = context as Cycle;
  const expected = cycle.kind === 'save' ? 303 : 200;
  if (status !== expected) {
    const key = `${cycle.kind}:${status}`;
    unexpected[key] = (unexpected[key] ?? 0) + 1;
  } else if (cycle.kind === 'sync' && cycle.seat) {
    syncChangesApplied += (JSON.parse(body) as { synced: number }).synced;
    cycle.seat.pending = [];
  } else if (cycle.kind === 'save' && cycle.product) {
    cycle.product.version += 1;
  }
  if (cycle.seat) cycle.seat.busy = false;
  if (cycle.product) cycle.product.busy = false;
}

/** Requests cut off by the end of a run never got their answer: re-read and free what they held. */
async function releaseAfterRun(): Promise<void> {
  // The server finishes what autocannon stopped waiting for; then the database has the truth.
  await sleep(1500);
  for (const seat of seats) seat.busy = false;
  for (const product of products) {
    if (!product.busy) continue;
    const row = await database.opened.db
      .selectFrom('products')
      .select('version')
      .where('id', '=', product.id)
      .executeTakeFirstOrThrow();
    product.version = Number(row.version);
    product.busy = false;
  }
}

async function run(seconds: number): Promise<autocannon.Result> {
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    autocannon(
      {
        url: server.baseUrl,
        connections: CONNECTIONS,
        duration: seconds,
        requests: [{ setupRequest, onResponse }],
      },
      (error, outcome) => (error ? reject(error) : resolve(outcome)),
    );
  });
  await releaseAfterRun();
  return result;
}

try {
  process.stderr.write('soak: 5 s warm-up\n');
  await run(5);
  const warmupUnexpected = { ...unexpected };
  for (const key of Object.keys(unexpected)) delete unexpected[key];
  syncChangesApplied = 0;
  const rssStart = rssMb(pid);
  process.stderr.write(`soak: ${SECONDS} s at ${CONNECTIONS} connections\n`);
  const result = await run(SECONDS);
  await sleep(500);
  const rssEnd = rssMb(pid);
  const unexpectedTotal = Object.values(unexpected).reduce((a, b) => a + b, 0);
  const rateLimited = Object.entries(unexpected)
    .filter(([key]) => key.endsWith(':429'))
    .reduce((a, [, n]) => a + n, 0);
  printResult({
    bench: 'soak',
    engine: 'sqlite',
    duration_s: SECONDS,
    connections: CONNECTIONS,
    requests: result.requests.total,
    requests_per_s: round(result.requests.average, 1),
    errors: result.errors + result.timeouts + unexpectedTotal,
    transport_errors: result.errors,
    timeouts: result.timeouts,
    unexpected_statuses: unexpected,
    rate_limited: rateLimited,
    latency_ms: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    sync_changes_applied: syncChangesApplied,
    rss_mb: {
      start: round(rssStart, 1),
      end: round(rssEnd, 1),
      growth_pct: round(((rssEnd - rssStart) / rssStart) * 100, 1),
    },
    warmup_unexpected_statuses: warmupUnexpected,
  });
} finally {
  await server.stop();
  await database.drop();
}
