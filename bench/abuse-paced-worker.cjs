// The patient abuser of bench/abuse.bench.ts, in a worker thread: `loops` requests in flight at
// once, each sending the largest draft the limits allow (abuse-heavy-request.cjs builds it) again
// as soon as the last was answered, and after a 429 as soon as its Retry-After allows: the most the
// limits let one account make the server do. Posts its answers by status when the time is up.
const { parentPort, workerData } = require('node:worker_threads');

process.env.STEADFAST_BENCH_SESSIONS = workerData.sessions;
process.env.STEADFAST_BENCH_DRAFT_KEYS = workerData.draftKeys;
process.env.STEADFAST_BENCH_DRAFT_BYTES = workerData.draftBytes;
const setupRequest = require('./abuse-heavy-request.cjs');

const until = Date.now() + workerData.durationMs;
const statuses = {};

async function loop() {
  while (Date.now() < until) {
    const request = setupRequest({ headers: { 'content-type': 'application/json' } });
    let wait = 0;
    try {
      const response = await fetch(`${workerData.url}/api/autosave/sync/`, {
        method: 'POST',
        headers: request.headers,
        body: request.body,
      });
      await response.arrayBuffer();
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      if (response.status === 429) wait = Number(response.headers.get('retry-after') ?? 1) * 1000;
    } catch {
      statuses.error = (statuses.error ?? 0) + 1;
      wait = 100;
    }
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(wait, until - Date.now())));
  }
}

Promise.all(Array.from({ length: workerData.loops }, loop)).then(() => parentPort.postMessage(statuses));
