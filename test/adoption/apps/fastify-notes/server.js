// An existing Fastify 5 app on SQLite, with its own sign-in (a signed cookie) and its own notes
// table, adopting Steadfast: its persistence manager, its plugin and its browser script.
import { createHmac, timingSafeEqual } from 'node:crypto';
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import { Kysely, SqliteDialect } from 'kysely';
import { registerBrowserScript, steadfastPlugin } from 'steadfast/fastify';
import { ConflictError, createPersistence, ValidationError } from 'steadfast/persistence';
import { models } from './models.js';

const SECRET = 'the app own secret, not steadfast';
const sign = (value) => createHmac('sha256', SECRET).update(value).digest('base64url');
const csrfTokenOf = (userId) => sign(`csrf:${userId}`);
const same = (a, b) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

function userOf(request) {
  const cookie = (request.headers.cookie ?? '').split(/;\s*/).find((c) => c.startsWith('uid='));
  if (!cookie) return null;
  const [id, mac] = cookie.slice(4).split('.');
  return id && mac && same(mac, sign(id)) ? { id, displayName: id } : null;
}

const file = new Database(process.env.DATABASE_FILE);
file.pragma('journal_mode = WAL');
const db = new Kysely({ dialect: new SqliteDialect({ database: file }) });
// The app's own table, with the version column Steadfast checks from the start.
await db.schema
  .createTable('notes')
  .ifNotExists()
  .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
  .addColumn('title', 'text', (c) => c.notNull())
  .addColumn('body', 'text', (c) => c.notNull())
  .addColumn('pinned', 'integer', (c) => c.notNull().defaultTo(0))
  .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
  .execute();
const persistence = createPersistence({ db, models });
if (!(await db.selectFrom('notes').select('id').limit(1).executeTakeFirst())) {
  await persistence.autoSave('Note', { title: 'Groceries', body: 'milk', pinned: 0 });
}

const app = Fastify();
await app.register(steadfastPlugin, {
  persistence,
  authenticate: userOf,
  verifyCsrf: (request) => {
    const user = userOf(request);
    const token = String(request.headers['x-csrf-token'] ?? '');
    return Boolean(user) && same(token, csrfTokenOf(user.id));
  },
});
registerBrowserScript(app, { path: '/assets/auto-save-service.js' });

app.get('/login', async (request, reply) => {
  const id = String(request.query.as ?? '');
  if (!/^[a-z]{1,20}$/.test(id)) return reply.code(400).send('who?');
  return reply
    .header('set-cookie', `uid=${id}.${sign(id)}; Path=/; HttpOnly; SameSite=Lax`)
    .redirect('/notes/1/edit', 303);
});

const html = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

app.get('/notes/:id/edit', { preHandler: app.requireUser }, async (request, reply) => {
  const user = request.user;
  const note = await db
    .selectFrom('notes')
    .selectAll()
    .where('id', '=', Number(request.params.id))
    .executeTakeFirst();
  if (!note) return reply.code(404).send('no such note');
  const key = `note-${note.id}`;
  return reply.type('text/html').send(`<!doctype html><html><head><title>Note</title>
<meta name="csrf-token" content="${csrfTokenOf(user.id)}"><meta name="autosave-user" content="${html(user.id)}">
${request.query.saved ? `<meta name="autosave-clear" content="${key}">` : ''}
<script src="/assets/auto-save-service.js" defer></script></head><body>
<span data-autosave-status></span>
<form id="${key}" method="post" action="/notes/${note.id}" data-autosave-version="${note.version}">
  <input type="hidden" name="_csrf" value="${csrfTokenOf(user.id)}">
  <input type="hidden" name="version" value="${note.version}">
  <input name="title" value="${html(note.title)}">
  <textarea name="body">${html(note.body)}</textarea>
  <input type="checkbox" name="pinned" value="1"${note.pinned ? ' checked' : ''}>
  <button type="submit">Save</button>
</form></body></html>`);
});

// Runs in the request's transaction (the plugin's middleware), as the signed-in user.
app.post('/notes/:id', { preHandler: app.requireUser }, async (request, reply) => {
  const { _csrf, title, body, pinned, version } = request.body;
  if (!same(String(_csrf ?? ''), csrfTokenOf(request.user.id))) return reply.code(403).send('forbidden');
  try {
    await persistence.autoSave('Note', {
      id: Number(request.params.id),
      version: Number(version),
      title,
      body,
      pinned: pinned ? 1 : 0,
    });
  } catch (error) {
    if (error instanceof ValidationError) return reply.code(422).send(error.message);
    if (error instanceof ConflictError) return reply.code(409).send('someone else saved first');
    throw error;
  }
  return reply.redirect(`/notes/${request.params.id}/edit?saved=1`, 303);
});

await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
console.log(`listening on ${app.server.address().port}`);
process.on('SIGTERM', async () => {
  await app.close();
  await db.destroy();
  process.exit(0);
});
