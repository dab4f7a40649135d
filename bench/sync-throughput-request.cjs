// autocannon's setupRequest for bench/sync-throughput.bench.ts, in a file of its own because the
// load runs in a worker thread, which can only `require` it. A connection's context lasts through the
// bench's list of requests: for that long it is one browser, its own clientId and its mutation ids
// one after another, in batches of 10 changes.
const { randomUUID } = require('node:crypto');

const BATCH = 10;

function setupRequest(request, context) {
  context.clientId ??= randomUUID();
  const first = context.next ?? 1;
  context.next = first + BATCH;
  const savedAt = new Date().toISOString();
  const changes = Array.from({ length: BATCH }, (_, i) => ({
    mutationId: first + i,
    kind: 'form',
    key: `product-form-${i}`,
    data: { name: `Desk ${first + i}`, price: '500.00', notes: 'x'.repeat(40) },
    savedAt,
  }));
  return { ...request, body: JSON.stringify({ clientId: context.clientId, changes }) };
}

module.exports = setupRequest;
// The bench reads the batch size from here, so the figure it prints names the size sent.
module.exports.BATCH = BATCH;
