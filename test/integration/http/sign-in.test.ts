/**
 * Sign-in, sessions in the database, cookie flags, requireUser, sign-out, plugin options, and a
 * run over a real socket.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import {
  hashPassword,
  KyselySessionStore,
  SteadfastOptionsError,
  signOut,
  steadfastPlugin,
  verifyPassword,
} from '../../../packages/steadfast/src/http/index.js';
import type { Persistence } from '../../../packages/steadfast/src/persistence/index.js';
import { describeEachDatabase } from '../../support/databases.js';
import {
  buildTestApp,
  change,
  createTestUser,
  injectClient,
  newClientId,
  signInAs,
  socketClient,
  TEST_PASSWORD,
  TEST_SECRET,
} from '../../support/http-fixtures.js';

function cookieNamed(header: unknown, prefix: string): string | undefined {
  const list = Array.isArray(header) ? header : header ? [header] : [];
  return list.map(String).find((c) => c.startsWith(prefix));
}

function sessionCookie(header: unknown): string | undefined {
  return cookieNamed(header, 'sid=');
}

describe('passwords', () => {
  it('hashes with scrypt and its parameters, and verifies only the right password', async () => {
    const hash = await hashPassword('s3cret', { N: 1024, r: 8, p: 1 });
    expect(hash).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(await verifyPassword('s3cret', hash)).toBe(true);
    expect(await verifyPassword('s3cret ', hash)).toBe(false);
    expect(await hashPassword('s3cret', { N: 1024, r: 8, p: 1 })).not.toBe(hash);
  });

  it('treats malformed or abusive hashes as a mismatch, never an error', async () => {
    for (const hash of [
      '',
      'plain',
      'scrypt$1$8$1$a$b',
      'scrypt$1073741824$8$1$c2FsdA==$a2V5a2V5a2V5a2V5a2V5',
      'bcrypt$x',
    ]) {
      expect(await verifyPassword('x', hash)).toBe(false);
    }
  });
});

describe('plugin options', () => {
  it('refuses a short session secret and a missing database with a clear error', async () => {
    const app = Fastify();
    const persistence = {} as Persistence;
    await expect(
      app.register(steadfastPlugin, { database: {} as never, persistence, sessionSecret: 'short' }).ready(),
    ).rejects.toThrow(SteadfastOptionsError);
    const again = Fastify();
    await expect(
      again.register(steadfastPlugin, { database: {} as never, persistence, sessionSecret: 'short' }).ready(),
    ).rejects.toThrow(/sessionSecret: sessionSecret must be at least 32 characters.*|database/);
  });

  it('refuses a loginPath that is not a path on this site', async () => {
    for (const loginPath of [
      '//evil.example/login',
      '/\\evil.example',
      'https://evil.example/',
      'login',
      '/log in',
    ]) {
      const app = Fastify();
      await expect(
        app
          .register(steadfastPlugin, {
            persistence: {} as Persistence,
            sessionSecret: 'a-test-session-secret-that-is-long-enough-0123456789',
            loginPath,
          })
          .ready(),
        loginPath,
      ).rejects.toThrow(/loginPath must be a path on this site/);
    }
  });
});

describeEachDatabase('sign-in and sessions', (current) => {
  let app: FastifyInstance;
  let persistence: Persistence;

  beforeAll(async () => {
    persistence = createAppPersistence({ db: current().opened.db });
    app = await buildTestApp(current(), { persistence }, (app) => {
      app.post('/test/logout', async (request) => {
        await signOut(request);
        return { ok: true };
      });
      app.get('/test/page', { preHandler: app.requireUser }, async (request) => ({ user: request.user }));
      app.post('/test/form', { preHandler: [app.requireUser, app.csrfProtection] }, async () => ({
        ok: true,
      }));
    });
  });
  afterAll(async () => {
    await app.close();
  });

  it('treats a session row whose data is damaged as no session, never a 500 or a hang', async () => {
    const signedOut = (await injectClient(app).request({ url: '/test/page' })).status;
    expect(signedOut).toBeGreaterThanOrEqual(300);
    expect(signedOut).toBeLessThan(500);
    // `__proto__` as a key would have replaced the session object's prototype when copied in.
    for (const damaged of ['{not json', '[]', 'null', '"text"', '{"__proto__":{"userId":1}}']) {
      const session = await signInAs(app, await createTestUser(persistence, `dora-${damaged.length}`));
      expect((await injectClient(app).request({ url: '/test/page', session })).status).toBe(200);
      await current().opened.db.updateTable('steadfast_sessions').set({ data: damaged }).execute();
      const response = await injectClient(app).request({ url: '/test/page', session });
      expect(response.status, `data ${damaged}`).toBe(signedOut);
    }
  });

  it('refuses a wrong password and an unknown user alike', async () => {
    const user = await createTestUser(persistence, 'erin');
    const client = injectClient(app);
    const wrong = await client.request({
      method: 'POST',
      url: '/test/login',
      body: { username: user.username, password: 'nope' },
    });
    const unknown = await client.request({
      method: 'POST',
      url: '/test/login',
      body: { username: 'nobody', password: 'nope' },
    });
    // A NUL in the name (PostgreSQL refuses it as a parameter) is an unknown user too, not a 500.
    const withNul = await client.request({
      method: 'POST',
      url: '/test/login',
      body: { username: `${user.username}\u0000`, password: TEST_PASSWORD },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(withNul.status).toBe(401);
    expect(sessionCookie(wrong.headers['set-cookie'])).toBeUndefined();
  });

  it('stores the session in the database with a new id at sign-in (no fixation) and safe cookie flags', async () => {
    const user = await createTestUser(persistence, 'frank');
    const client = injectClient(app);
    const countSessions = async () =>
      Number(
        (
          await current()
            .opened.db.selectFrom('steadfast_sessions')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await countSessions();
    // A visitor's CSRF secret lives in a signed cookie of its own: no session, no row.
    const anonymous = await client.request({ url: '/test/csrf' });
    expect(sessionCookie(anonymous.headers['set-cookie'])).toBeUndefined();
    const visitor = cookieNamed(anonymous.headers['set-cookie'], 'sid_csrf=');
    expect(visitor).toBeDefined();
    expect(visitor).toMatch(/HttpOnly/);
    expect(visitor).toMatch(/SameSite=Lax/);
    expect(visitor).not.toMatch(/Secure/);
    expect(await countSessions()).toBe(before);
    const visitorValue = visitor?.split(';')[0] as string;
    const login = await client.request({
      method: 'POST',
      url: '/test/login',
      body: { username: user.username, password: TEST_PASSWORD },
      headers: { cookie: visitorValue },
    });
    expect(login.status).toBe(200);
    const fresh = sessionCookie(login.headers['set-cookie'])?.split(';')[0];
    expect(fresh).toBeDefined();
    // The visitor's cookie is cleared once there is a session.
    expect(cookieNamed(login.headers['set-cookie'], 'sid_csrf=')).toMatch(/Expires=Thu, 01 Jan 1970/);
    const rows = await current()
      .opened.db.selectFrom('steadfast_sessions')
      .selectAll()
      .where('user_id', '=', user.id)
      .execute();
    expect(rows).toHaveLength(1);
    expect(await countSessions()).toBe(before + 1);
    const page = await client.request({ url: '/test/page', headers: { cookie: fresh as string } });
    expect(page.json.user).toEqual({ id: user.id, username: user.username, displayName: user.displayName });
  });

  it('requireUser answers 401 JSON for API clients and 303 to /login for pages, neither cached', async () => {
    const client = injectClient(app);
    const api = await client.request({ url: '/test/page', headers: { accept: 'application/json' } });
    expect(api.status).toBe(401);
    expect(api.json.error).toBe('unauthenticated');
    expect(api.headers['cache-control']).toBe('no-store');
    const page = await client.request({ url: '/test/page', headers: { accept: 'text/html' } });
    expect(page.status).toBe(303);
    expect(page.headers.location).toBe('/login');
    expect(page.headers['cache-control']).toBe('no-store');
  });

  it('sends a signed-out page request to the loginPath the app names', async () => {
    const other = await buildTestApp(
      current(),
      { persistence, loginPath: '/account/sign-in?from=steadfast' },
      (app) => {
        app.get('/test/page', { preHandler: app.requireUser }, async () => ({ ok: true }));
      },
    );
    try {
      const page = await injectClient(other).request({ url: '/test/page', headers: { accept: 'text/html' } });
      expect(page.status).toBe(303);
      expect(page.headers.location).toBe('/account/sign-in?from=steadfast');
    } finally {
      await other.close();
    }
  });

  it('checks the CSRF token from the form body or the header', async () => {
    const session = await signInAs(app, await createTestUser(persistence, 'gina'));
    const client = injectClient(app);
    const form = await client.request({
      method: 'POST',
      url: '/test/form',
      body: `_csrf=${encodeURIComponent(session.csrf)}&x=1`,
      headers: {
        cookie: session.cookie,
        'content-type': 'application/x-www-form-urlencoded',
        'x-csrf-token': '',
      },
    });
    expect(form.status).toBe(200);
    const forged = await client.request({
      method: 'POST',
      url: '/test/form',
      body: '_csrf=forged',
      headers: {
        cookie: session.cookie,
        'content-type': 'application/x-www-form-urlencoded',
        'x-csrf-token': '',
      },
    });
    expect(forged.status).toBe(403);
    expect(forged.json.error).toBe('csrf_invalid');
  });

  it('ends the session at sign-out: the row is gone and the cookie no longer signs anyone in', async () => {
    const session = await signInAs(app, await createTestUser(persistence, 'hal'));
    const client = injectClient(app);
    const out = await client.request({
      method: 'POST',
      url: '/test/logout',
      headers: { cookie: session.cookie },
    });
    expect(out.status).toBe(200);
    const rows = await current()
      .opened.db.selectFrom('steadfast_sessions')
      .selectAll()
      .where('user_id', '=', session.user.id)
      .execute();
    expect(rows).toEqual([]);
    const after = await client.request({ url: '/api/autosave/drafts/', session });
    expect(after.status).toBe(401);
  });

  it('writes the session row only when its data changed, never on requests that merely read it', async () => {
    const store = app.steadfast.sessionStore;
    if (!store) throw new Error('the demo uses Steadfast sessions');
    const writes = vi.spyOn(store, 'set');
    try {
      const session = await signInAs(app, await createTestUser(persistence, 'gil'));
      expect(writes).toHaveBeenCalled();
      writes.mockClear();
      const client = injectClient(app);
      const sync = await client.request({
        method: 'POST',
        url: '/api/autosave/sync/',
        session,
        body: { clientId: newClientId(), changes: [] },
      });
      expect(sync.status).toBe(200);
      expect((await client.request({ url: '/api/autosave/drafts/', session })).status).toBe(200);
      expect((await client.request({ url: '/test/page', session })).status).toBe(200);
      expect((await client.request({ url: '/test/csrf', headers: { cookie: session.cookie } })).status).toBe(
        200,
      );
      expect(writes).not.toHaveBeenCalled();
      for (const response of [sync]) expect(response.headers['set-cookie']).toBeUndefined();
    } finally {
      writes.mockRestore();
    }
  });

  it('refuses a session signed out on one app instance on another instance sharing the database', async () => {
    const other = await buildTestApp(current(), {
      persistence: createAppPersistence({ db: current().opened.db }),
    });
    try {
      const session = await signInAs(app, await createTestUser(persistence, 'hana'));
      const emptySync = (target: FastifyInstance) =>
        injectClient(target).request({
          method: 'POST',
          url: '/api/autosave/sync/',
          session,
          body: { clientId: newClientId(), changes: [] },
        });
      // Both instances have served the session (and verified its cookie) before the sign-out.
      expect((await emptySync(other)).status).toBe(200);
      expect((await emptySync(app)).status).toBe(200);
      const out = await injectClient(app).request({
        method: 'POST',
        url: '/test/logout',
        headers: { cookie: session.cookie },
      });
      expect(out.status).toBe(200);
      expect((await emptySync(other)).status).toBe(401);
      expect((await injectClient(other).request({ url: '/api/autosave/drafts/', session })).status).toBe(401);
    } finally {
      await other.close();
    }
  });

  it('logs a created user with the password hash redacted', async () => {
    const user = await createTestUser(persistence, 'ivy');
    const { entries } = await persistence.activityLog.query({ model: 'User', objectId: String(user.id) });
    expect(entries[0]?.action).toBe('create');
    expect(entries[0]?.changes.password_hash).toEqual(['[changed]', '[changed]']);
    expect(JSON.stringify(entries[0])).not.toContain('scrypt$');
  });

  it('never returns an expired session, and sweeps it', async () => {
    let now = Date.now();
    const store = new KyselySessionStore({
      executor: () => current().opened.db,
      ttlMs: 1000,
      now: () => now,
    });
    await new Promise<void>((resolve, reject) =>
      store.set('expiring-sid', { cookie: {} } as never, (error) => (error ? reject(error) : resolve())),
    );
    const found = await new Promise((resolve) => store.get('expiring-sid', (_e, s) => resolve(s)));
    expect(found).not.toBeNull();
    now += 2000;
    const expired = await new Promise((resolve) => store.get('expiring-sid', (_e, s) => resolve(s)));
    expect(expired).toBeNull();
    expect(await store.sweep()).toBeGreaterThanOrEqual(1);
    const rows = await current()
      .opened.db.selectFrom('steadfast_sessions')
      .selectAll()
      .where('sid', '=', 'expiring-sid')
      .execute();
    expect(rows).toEqual([]);
  });

  it('serves sign-in and sync over a real socket', async () => {
    const user = await createTestUser(persistence, 'jo');
    const socketApp = await buildTestApp(current(), { persistence });
    await socketApp.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = socketApp.server.address() as AddressInfo;
      const client = socketClient(`http://127.0.0.1:${port}`);
      const login = await client.request({
        method: 'POST',
        url: '/test/login',
        body: { username: user.username, password: TEST_PASSWORD },
      });
      expect(login.status).toBe(200);
      const cookie = String(login.headers['set-cookie']).split(';')[0] as string;
      const csrf = await client.request({ url: '/test/csrf', headers: { cookie } });
      const session = { user, cookie, csrf: csrf.json.token as string };
      const synced = await client.request({
        method: 'POST',
        url: '/api/autosave/sync/',
        session,
        body: { clientId: newClientId(), changes: [change(1)] },
      });
      expect(synced.status).toBe(200);
      expect(synced.json.results[0].status).toBe('applied');
    } finally {
      await socketApp.close();
    }
  });

  it('keeps secureCookies: true cookies off plain http', async () => {
    const secureApp = await buildTestApp(current(), {
      persistence,
      secureCookies: true,
      sessionSecret: TEST_SECRET,
    });
    const response = await injectClient(secureApp).request({ url: '/test/csrf' });
    expect(sessionCookie(response.headers['set-cookie'])).toBeUndefined();
    const https = await injectClient(secureApp).request({
      url: '/test/csrf',
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect(https.status).toBe(200);
    await secureApp.close();
  });
});
