// An existing Express 5 app on PostgreSQL, with its own sign-in (a signed cookie) and its own
// invoices table, adopting Steadfast: its persistence manager, its router and its browser script.
import { createHmac, timingSafeEqual } from 'node:crypto';
import express from 'express';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { browserScriptRouter, createExpressRouter } from 'steadfast/express';
import { ConflictError, createPersistence, ValidationError } from 'steadfast/persistence';
import { migrate } from './migrations.js';
import { models } from './models.js';

const SECRET = 'the app own secret, not steadfast';
const sign = (value) => createHmac('sha256', SECRET).update(value).digest('base64url');
const csrfTokenOf = (userId) => sign(`csrf:${userId}`);
const same = (a, b) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** The app's own sign-in: a cookie `uid=<id>.<hmac>`. */
function userOf(request) {
  const cookie = (request.headers.cookie ?? '').split(/;\s*/).find((c) => c.startsWith('uid='));
  if (!cookie) return null;
  const [id, mac] = cookie.slice(4).split('.');
  return id && mac && same(mac, sign(id)) ? { id, displayName: id } : null;
}

const db = new Kysely({
  dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: process.env.DATABASE_URL }) }),
});
await migrate(db);
const persistence = createPersistence({ db, models });
if (!(await db.selectFrom('invoices').select('id').limit(1).executeTakeFirst())) {
  await persistence.autoSave('Invoice', { customer: 'ACME', amount: '100.00', status: 'draft' });
}

const app = express();
app.use(express.urlencoded({ extended: false }));
app.use(browserScriptRouter({ path: '/assets/auto-save-service.js' }));
const steadfast = createExpressRouter({
  persistence,
  authenticate: userOf,
  verifyCsrf: (request) => {
    const user = userOf(request);
    const token = request.get('x-csrf-token') ?? '';
    return Boolean(user) && same(token, csrfTokenOf(user.id));
  },
});
app.use(steadfast);

app.get('/login', (request, response) => {
  const id = String(request.query.as ?? '');
  if (!/^[a-z]{1,20}$/.test(id)) return response.status(400).send('who?');
  response
    .set('set-cookie', `uid=${id}.${sign(id)}; Path=/; HttpOnly; SameSite=Lax`)
    .redirect(303, '/invoices/1/edit');
});

const html = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

app.get('/invoices/:id/edit', async (request, response) => {
  const user = userOf(request);
  if (!user) return response.redirect(303, '/login');
  const invoice = await db
    .selectFrom('invoices')
    .selectAll()
    .where('id', '=', Number(request.params.id))
    .executeTakeFirst();
  if (!invoice) return response.status(404).send('no such invoice');
  const key = `invoice-${invoice.id}`;
  response.send(`<!doctype html><html><head><title>Invoice</title>
<meta name="csrf-token" content="${csrfTokenOf(user.id)}"><meta name="autosave-user" content="${html(user.id)}">
${request.query.saved ? `<meta name="autosave-clear" content="${key}">` : ''}
<script src="/assets/auto-save-service.js" defer></script></head><body>
<span data-autosave-status></span>
<form id="${key}" method="post" action="/invoices/${invoice.id}" data-autosave-version="${invoice.version}">
  <input type="hidden" name="_csrf" value="${csrfTokenOf(user.id)}">
  <input type="hidden" name="version" value="${invoice.version}">
  <input name="customer" value="${html(invoice.customer)}">
  <input name="amount" value="${html(invoice.amount)}">
  <select name="status">${['draft', 'sent', 'paid'].map((s) => `<option${s === invoice.status ? ' selected' : ''}>${s}</option>`).join('')}</select>
  <button type="submit">Save</button>
</form></body></html>`);
});

app.post('/invoices/:id', async (request, response) => {
  const user = userOf(request);
  if (!user || !same(String(request.body._csrf ?? ''), csrfTokenOf(user.id)))
    return response.status(403).send('forbidden');
  const { customer, amount, status, version } = request.body;
  try {
    await persistence.runAs(user.id, () =>
      persistence.autoSave('Invoice', {
        id: Number(request.params.id),
        version: Number(version),
        customer,
        amount,
        status,
      }),
    );
  } catch (error) {
    if (error instanceof ValidationError) return response.status(422).send(error.message);
    if (error instanceof ConflictError) return response.status(409).send('someone else saved first');
    throw error;
  }
  response.redirect(303, `/invoices/${request.params.id}/edit?saved=1`);
});

const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`listening on ${server.address().port}`);
});
process.on('SIGTERM', () =>
  server.close(async () => {
    await steadfast.close();
    await db.destroy();
    process.exit(0);
  }),
);
