// autocannon's setupRequest for the abuser of bench/abuse.bench.ts: one account (the first session
// in STEADFAST_BENCH_SESSIONS) sending the largest draft its limits allow (STEADFAST_BENCH_DRAFT_KEYS
// keys, STEADFAST_BENCH_DRAFT_BYTES bytes of JSON) in every request, every value changed each time,
// over a few keys in turn (updates: a log entry of every key's before and after). A fresh clientId
// each request: a refused request then never leaves the next one a mutation gap.
const { randomUUID } = require('node:crypto');

const [session] = JSON.parse(process.env.STEADFAST_BENCH_SESSIONS ?? '[]');
const keys = Number(process.env.STEADFAST_BENCH_DRAFT_KEYS ?? 2000);
const bytes = Number(process.env.STEADFAST_BENCH_DRAFT_BYTES ?? 262144);
let sent = 0;

/** A draft of `keys` keys whose JSON is at most `bytes` long, its values stamped with `n`. */
function draft(n) {
  const stamp = `${n}:`;
  // `"k1234":"…",` per key; what is left of the budget goes into the values.
  const overhead = 2 + keys * (String(keys).length + 7);
  const valueLength = Math.max(1, Math.floor((bytes - overhead - 64) / keys) - stamp.length);
  const value = stamp + 'v'.repeat(valueLength);
  const data = {};
  for (let i = 0; i < keys; i += 1) data[`k${i}`] = value;
  return data;
}

function setupRequest(request) {
  sent += 1;
  const change = {
    mutationId: 1,
    kind: 'form',
    key: `abuse-${sent % 8}`,
    data: draft(sent),
    savedAt: new Date().toISOString(),
  };
  return {
    ...request,
    headers: { ...request.headers, cookie: session.cookie, 'x-csrf-token': session.csrf },
    body: JSON.stringify({ clientId: randomUUID(), changes: [change] }),
  };
}

module.exports = setupRequest;
