// autocannon's setupRequest for the normal users of bench/abuse.bench.ts (a worker thread can only
// `require` it). Each connection's context is one browser: a user of its own (the bench passes the
// signed-in sessions in STEADFAST_BENCH_SESSIONS), its clientId, and a form draft of a few hundred
// bytes saved as someone types, one change a request.
const { randomUUID } = require('node:crypto');

const sessions = JSON.parse(process.env.STEADFAST_BENCH_SESSIONS ?? '[]');
let nextSession = 0;

function setupRequest(request, context) {
  if (!context.session) {
    context.session = sessions[nextSession % sessions.length];
    nextSession += 1;
    context.clientId = randomUUID();
    context.next = 1;
  }
  const mutationId = context.next;
  context.next += 1;
  const change = {
    mutationId,
    kind: 'form',
    key: `product-form-${mutationId % 3}`,
    data: { name: `Desk ${mutationId}`, price: '500.00', notes: 'typed '.repeat(40) + mutationId },
    savedAt: new Date().toISOString(),
  };
  return {
    ...request,
    headers: {
      ...request.headers,
      cookie: context.session.cookie,
      'x-csrf-token': context.session.csrf,
    },
    body: JSON.stringify({ clientId: context.clientId, changes: [change] }),
  };
}

module.exports = setupRequest;
