/**
 * Security review, part 1: session fixation, CSRF on every state-changing route (enumerated from
 * the app's own route table, so a new route without CSRF fails here), and login brute force.
 */
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { SESSION_COOKIE_NAME } from '../../../packages/steadfast/src/http/index.js';
import { describeEachDatabase } from '../../support/databases.js';
import { useSeededApp } from '../app/app-fixture.js';
import { BrowserLikeClient } from './browser-like-client.js';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** The signed cookie holding a visitor's CSRF secret until sign-in. */
const VISITOR_COOKIE = `${SESSION_COOKIE_NAME}_csrf`;

/** Every route with a state-changing method, read from `printRoutes()`'s tree. */
export function stateChangingRoutes(app: FastifyInstance): Array<{ method: string; url: string }> {
  const routes: Array<{ method: string; url: string }> = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([\s│]*)[└├]── (\S+) \(([^)]+)\)$/.exec(line);
    if (!match) continue;
    const depth = (match[1] ?? '').length / 4;
    const segment = match[2] ?? '';
    const path = depth === 0 ? segment : `${stack[depth - 1] ?? ''}${segment}`;
    stack[depth] = path;
    stack.length = depth + 1;
    for (const method of (match[3] ?? '').split(',').map((m) => m.trim())) {
      if (STATE_CHANGING.has(method)) routes.push({ method, url: path.replace(/\/\/+/g, '/') });
    }
  }
  return routes;
}

/** A concrete URL for a route pattern: seed product 1, version 1. */
const concrete = (url: string) => url.replace(':id', '1').replace(':version', '1');

describeEachDatabase('security: sessions and CSRF', (current) => {
  const fixture = useSeededApp(current);

  describe('session fixation', () => {
    it('starts a session only at sign-in, with a new id, dropping the visitor’s CSRF cookie', async () => {
      const victim = new BrowserLikeClient(fixture().app);
      await victim.get('/login');
      // The login form's secret is in a signed cookie of its own, not in a stored session.
      expect(victim.cookies.get(SESSION_COOKIE_NAME), 'no session before sign-in').toBeUndefined();
      expect(victim.cookies.get(VISITOR_COOKIE)).toBeDefined();
      expect((await victim.signIn('demo', 'demo')).statusCode).toBe(303);
      expect(victim.cookies.get(SESSION_COOKIE_NAME)).toBeDefined();
      expect(victim.cookies.get(VISITOR_COOKIE)).toBeUndefined();
    });

    it('does not sign in the attacker whose pre-login cookies were planted in the victim’s browser', async () => {
      const attacker = new BrowserLikeClient(fixture().app);
      await attacker.get('/login');
      const planted = attacker.cookies.get(VISITOR_COOKIE) as string;
      expect(planted).toBeDefined();
      const victim = new BrowserLikeClient(fixture().app);
      victim.cookies.set(VISITOR_COOKIE, planted);
      expect((await victim.signIn('demo', 'demo')).statusCode).toBe(303);
      expect(victim.cookies.get(VISITOR_COOKIE)).toBeUndefined();
      expect((await victim.get('/products')).statusCode).toBe(200);
      // The attacker still holds the planted id: it must name nobody.
      const page = await attacker.get('/products');
      expect(page.statusCode).toBe(303);
      expect(page.headers.location).toBe('/login');
      const api = await attacker.send('GET', '/api/autosave/drafts/', {
        headers: { accept: 'application/json' },
      });
      expect(api.statusCode).toBe(401);
    });

    it('never adopts a session id the client made up', async () => {
      const victim = new BrowserLikeClient(fixture().app);
      const madeUp = 'attacker-chosen-session-id-0123456789abcdef';
      victim.cookies.set(SESSION_COOKIE_NAME, madeUp);
      expect((await victim.signIn('demo', 'demo')).statusCode).toBe(303);
      const sid = victim.cookies.get(SESSION_COOKIE_NAME) ?? '';
      expect(sid).not.toContain(madeUp);
      const stored = await current()
        .opened.db.selectFrom('steadfast_sessions')
        .select('sid')
        .where('sid', 'like', `%${madeUp}%`)
        .execute();
      expect(stored).toEqual([]);
    });
  });

  describe('CSRF', () => {
    it('finds the app’s state-changing routes in its route table', () => {
      const routes = stateChangingRoutes(fixture().app).map((r) => `${r.method} ${r.url}`);
      // A floor, not the list: new routes join the checks below automatically.
      for (const known of [
        'POST /login',
        'POST /logout',
        'POST /products',
        'POST /products/:id',
        'POST /products/:id/revert/:version',
        'POST /settings/app',
        'POST /settings/preferences',
        'POST /api/autosave/sync/',
      ]) {
        expect(routes).toContain(known);
      }
    });

    it('refuses every state-changing route without a token, or with another session’s token (403)', async () => {
      const { app } = fixture();
      const demo = new BrowserLikeClient(app);
      await demo.signIn('demo', 'demo');
      const other = new BrowserLikeClient(app);
      await other.get('/login');
      const foreignToken = other.csrfToken as string;
      const failures: string[] = [];
      for (const { method, url } of stateChangingRoutes(app)) {
        const target = concrete(url);
        const attempts = {
          'no token (form)': () => demo.send(method as 'POST', target, formWithout()),
          'no token (json)': () => demo.postJson(target, {}, false),
          'foreign token (form)': () =>
            demo.send(method as 'POST', target, formWithout({ _csrf: foreignToken })),
          'foreign token (header)': () =>
            demo.send(method as 'POST', target, {
              body: '{}',
              headers: { 'content-type': 'application/json', 'x-csrf-token': foreignToken },
            }),
        };
        for (const [name, attempt] of Object.entries(attempts)) {
          const response = await attempt();
          if (response.statusCode !== 403)
            failures.push(`${method} ${url} with ${name}: ${response.statusCode}`);
        }
      }
      expect(failures).toEqual([]);
      // Still signed in: the refused requests changed nothing, logout included.
      expect((await demo.get('/products')).statusCode).toBe(200);
    });

    it('accepts each of those routes with the session’s own token (so the 403 above is the CSRF check)', async () => {
      const { app } = fixture();
      const failures: string[] = [];
      for (const { method, url } of stateChangingRoutes(app)) {
        const client = new BrowserLikeClient(app);
        await client.signIn('demo', 'demo');
        const response = url.startsWith('/api/')
          ? await client.postJson(concrete(url), {})
          : await client.send(method as 'POST', concrete(url), {
              body: new URLSearchParams({ _csrf: client.csrfToken ?? '' }).toString(),
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
            });
        if (response.statusCode === 403 || response.statusCode >= 500) {
          failures.push(`${method} ${url}: ${response.statusCode}`);
        }
      }
      expect(failures).toEqual([]);
    });
  });

  describe('login brute force', () => {
    it('answers 429 after ten attempts a minute from one address, even for the right password', async () => {
      const { app } = fixture();
      const attacker = new BrowserLikeClient(app);
      await attacker.get('/login');
      const statuses: number[] = [];
      for (let i = 0; i < 10; i += 1) {
        statuses.push(
          (await attacker.postForm('/login', { username: 'demo', password: `guess-${i}` })).statusCode,
        );
      }
      expect(statuses).toEqual(Array(10).fill(401));
      const limited = await attacker.postForm('/login', { username: 'demo', password: 'guess-10' });
      expect(limited.statusCode).toBe(429);
      const right = await attacker.postForm('/login', { username: 'demo', password: 'demo' });
      expect(right.statusCode).toBe(429);
      expect((await attacker.get('/products')).statusCode).toBe(303);
      // The limit is per address: the real user elsewhere still signs in.
      const user = new BrowserLikeClient(app);
      expect((await user.signIn('demo', 'demo')).statusCode).toBe(303);
    });
  });
});

function formWithout(fields: Record<string, string> = {}): { body: string; headers: Record<string, string> } {
  return {
    body: new URLSearchParams({ name: 'x', ...fields }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  };
}
