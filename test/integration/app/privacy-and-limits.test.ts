/**
 * The demo under issue 18's rules: what one user can read of another in the log (pages and API
 * alike), how heavy a log page can get, what the public /status tells, no session row for a
 * visitor, Cache-Control and the security headers on every answer (a malformed URL included),
 * /metrics behind its token, and which proxies are believed about the client's address.
 */
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../../examples/business-app/src/build-app.js';
import { ConfigError, parseTrustProxy } from '../../../examples/business-app/src/config.js';
import { describeEachDatabase, type TestOpenedDatabase } from '../../support/databases.js';
import { BrowserLikeClient } from '../security/browser-like-client.js';
import { TEST_SESSION_SECRET, useSeededApp } from './app-fixture.js';
import { inputValue } from './page-client.js';

const METRICS_TOKEN = 'demo-metrics-token-0123456789';
const DEMO_ADDRESS = '10.77.0.1';
const OLGA_ADDRESS = '10.77.0.2';

async function countSessions(db: TestOpenedDatabase['db']): Promise<number> {
  const row = await db
    .selectFrom('steadfast_sessions')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describeEachDatabase('business app: who sees what in the log, and how much', (current) => {
  const fixture = useSeededApp(current, { metricsToken: METRICS_TOKEN });

  /** demo's company-name change (public) and theme (private), made from DEMO_ADDRESS. */
  async function demoMakesChanges() {
    const demo = new BrowserLikeClient(fixture().app, DEMO_ADDRESS);
    expect((await demo.signIn('demo', 'demo')).statusCode).toBe(303);
    const page = await demo.get('/settings');
    const company = await demo.postForm('/settings/app', {
      companyName: `Private Test ${Date.now()}`,
      currency: 'USD',
      lowStockThreshold: '5',
      version_companyName: inputValue(page.body, 'version_companyName') ?? '',
      version_currency: inputValue(page.body, 'version_currency') ?? '',
      version_lowStockThreshold: inputValue(page.body, 'version_lowStockThreshold') ?? '',
    });
    expect(company.statusCode).toBe(303);
    const again = await demo.get('/settings');
    const theme = await demo.postForm('/settings/preferences', {
      pageSize: '50',
      theme: 'dark',
      version_pageSize: inputValue(again.body, 'version_pageSize') ?? '',
      version_theme: inputValue(again.body, 'version_theme') ?? '',
    });
    expect(theme.statusCode).toBe(303);
    const { db } = current().opened;
    const entry = (objectId: string) =>
      db
        .selectFrom('steadfast_activity_log')
        .select(['id', 'ip', 'request_id'])
        .where('object_id', '=', objectId)
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirstOrThrow();
    const companyEntry = await entry('app.company_name');
    const preferenceEntry = await entry(`user.${fixture().demoUserId}.theme`);
    expect(companyEntry.ip).toBe(DEMO_ADDRESS);
    expect(companyEntry.request_id).toBeTruthy();
    return { demo, companyEntry, preferenceEntry };
  }

  it('never shows another user (an editor) demo’s IP address, request ids or preferences: not in /activity, /activity/:id or /api/activity', async () => {
    const { demo, companyEntry, preferenceEntry } = await demoMakesChanges();
    // The seed's editor: not an administrator, so others' addresses and request ids stay hidden.
    const olga = new BrowserLikeClient(fixture().app, OLGA_ADDRESS);
    expect((await olga.signIn('editor', 'editor')).statusCode).toBe(303);
    const requestId = companyEntry.request_id as string;
    const privateId = `user.${fixture().demoUserId}.`;

    for (const url of ['/activity', '/activity?model=Setting', `/activity?actor=${fixture().demoUserId}`]) {
      const page = await olga.get(url);
      expect(page.statusCode, url).toBe(200);
      expect(page.body, url).not.toContain(DEMO_ADDRESS);
      expect(page.body, url).not.toContain(requestId);
      expect(page.body, url).not.toContain(privateId);
    }
    const settings = await olga.get('/activity?model=Setting');
    expect(settings.body).toContain(`href="/activity/${companyEntry.id}"`);
    expect(settings.body).not.toContain(`href="/activity/${preferenceEntry.id}"`);

    const api = await olga.send('GET', '/api/activity?limit=200', {
      headers: { accept: 'application/json' },
    });
    expect(api.statusCode).toBe(200);
    expect(api.body).not.toContain(DEMO_ADDRESS);
    expect(api.body).not.toContain(requestId);
    expect(api.body).not.toContain(privateId);

    const whole = await olga.get(`/activity/${companyEntry.id}`);
    expect(whole.statusCode).toBe(200);
    expect(whole.body).toContain('app.company_name');
    expect(whole.body).not.toContain(DEMO_ADDRESS);
    expect(whole.body).not.toContain(requestId);
    expect(whole.body).toContain('not shown');
    const preference = await olga.get(`/activity/${preferenceEntry.id}`);
    expect(preference.statusCode).toBe(404);
    expect(preference.body).not.toContain('dark');
    const preferenceApi = await olga.send('GET', `/api/activity/${preferenceEntry.id}`, {
      headers: { accept: 'application/json' },
    });
    expect(preferenceApi.statusCode).toBe(404);

    // demo sees all of it, on the page as in the API.
    const own = await demo.get(`/activity/${companyEntry.id}`);
    expect(own.body).toContain(DEMO_ADDRESS);
    expect(own.body).toContain(requestId);
    expect((await demo.get(`/activity/${preferenceEntry.id}`)).statusCode).toBe(200);
    expect((await demo.get('/activity?model=Setting')).body).toContain(
      `href="/activity/${preferenceEntry.id}"`,
    );
  });

  it('shows an administrator everyone’s IP addresses and request ids, never others’ preferences', async () => {
    const { companyEntry, preferenceEntry } = await demoMakesChanges();
    const admin = new BrowserLikeClient(fixture().app, OLGA_ADDRESS);
    expect((await admin.signIn('olga', fixture().otherUser.password)).statusCode).toBe(303);
    const requestId = companyEntry.request_id as string;
    const page = await admin.get(`/activity/${companyEntry.id}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(DEMO_ADDRESS);
    expect(page.body).toContain(requestId);
    const api = await admin.send('GET', '/api/activity?limit=200', {
      headers: { accept: 'application/json' },
    });
    expect(api.statusCode).toBe(200);
    expect(api.body).toContain(DEMO_ADDRESS);
    expect(api.body).toContain(requestId);
    const entry = await admin.send('GET', `/api/activity/${companyEntry.id}`, {
      headers: { accept: 'application/json' },
    });
    expect(JSON.parse(entry.body)).toMatchObject({ ip: DEMO_ADDRESS, requestId });
    // Preferences stay their owner's, administrator or not.
    expect(api.body).not.toContain(`user.${fixture().demoUserId}.`);
    expect((await admin.get(`/activity/${preferenceEntry.id}`)).statusCode).toBe(404);
  });

  it('keeps /activity light however large an entry is: shortened in the list, whole on its own page', async () => {
    const demo = new BrowserLikeClient(fixture().app);
    await demo.signIn('demo', 'demo');
    await demo.get('/products');
    const body = 'Q'.repeat(200_000);
    for (let m = 1; m <= 3; m += 1) {
      const synced = await demo.postJson('/api/autosave/sync/', {
        clientId: crypto.randomUUID(),
        changes: [
          {
            mutationId: 1,
            kind: 'form',
            key: `huge-${m}`,
            data: { body },
            savedAt: new Date().toISOString(),
          },
        ],
      });
      expect(synced.statusCode).toBe(200);
    }
    const page = await demo.get('/activity?model=Draft');
    expect(page.statusCode).toBe(200);
    expect(page.body.length).toBeLessThan(120_000);
    expect(page.body).toContain('show the whole entry');
    const id = /href="\/activity\/(\d+)">show the whole entry/.exec(page.body)?.[1];
    const whole = await demo.get(`/activity/${id}`);
    expect(whole.statusCode).toBe(200);
    expect(whole.body.length).toBeGreaterThan(200_000);
  });
});

describeEachDatabase('business app: /status, sessions, headers and /metrics', (current) => {
  const fixture = useSeededApp(current, { metricsToken: METRICS_TOKEN });
  const COMPONENTS = ['database', 'migrations', 'persistence', 'change-tracking', 'sync-endpoint'];

  it('tells an anonymous visitor up or down per component, without counters, ids or timings, as a signed-in editor; an administrator the detail', async () => {
    const anonymous = await fixture().app.inject({ method: 'GET', url: '/status' });
    expect(anonymous.statusCode).toBe(200);
    for (const id of COMPONENTS)
      expect(anonymous.body).toContain(`data-component="${id}" data-state="active"`);
    expect(anonymous.body).not.toMatch(/entry #\d+/);
    expect(anonymous.body).not.toMatch(/\d+ ms\)/);
    expect(anonymous.body).not.toContain('verifies against its hash');
    // A signed-in user who is no administrator sees what an anonymous visitor sees.
    const editor = new BrowserLikeClient(fixture().app);
    await editor.signIn('editor', 'editor');
    const notAdmin = await editor.get('/status');
    expect(notAdmin.statusCode).toBe(200);
    for (const id of COMPONENTS)
      expect(notAdmin.body).toContain(`data-component="${id}" data-state="active"`);
    expect(notAdmin.body).not.toMatch(/entry #\d+/);
    expect(notAdmin.body).not.toMatch(/\d+ ms\)/);
    const admin = new BrowserLikeClient(fixture().app);
    await admin.signIn('demo', 'demo');
    const signedIn = await admin.get('/status');
    expect(signedIn.body).toMatch(/entry #\d+/);
    expect(signedIn.body).toMatch(/\d+ ms\)/);
  });

  it('checks change tracking without hashing a huge newest entry: its chain link instead', async () => {
    const demo = new BrowserLikeClient(fixture().app);
    await demo.signIn('demo', 'demo');
    await demo.get('/products');
    const clientId = crypto.randomUUID();
    const change = (mutationId: number) => ({
      mutationId,
      kind: 'form',
      key: 'status-huge',
      data: { body: String(mutationId).repeat(150_000) },
      savedAt: new Date().toISOString(),
    });
    expect(
      (await demo.postJson('/api/autosave/sync/', { clientId, changes: [change(1), change(2)] })).statusCode,
    ).toBe(200);
    const status = await demo.get('/status');
    expect(status.body).toContain('data-component="change-tracking" data-state="active"');
    expect(status.body).toMatch(/follows its record(&#39;|')s previous entry #\d+/);
  });

  it('adds no session row for a cookie-less GET /login; sign-in still works with the form’s CSRF token', async () => {
    const { app } = fixture();
    const before = await countSessions(current().opened.db);
    for (let i = 0; i < 5; i += 1) {
      const response = await app.inject({ method: 'GET', url: '/login' });
      expect(response.statusCode).toBe(200);
      expect(response.cookies.map((cookie) => cookie.name)).toEqual(['sid_csrf']);
    }
    expect(await countSessions(current().opened.db)).toBe(before);
    const visitor = new BrowserLikeClient(app);
    await visitor.get('/login');
    await visitor.get('/status');
    expect(await countSessions(current().opened.db)).toBe(before);
    expect((await visitor.postForm('/login', { username: 'demo', password: 'demo' })).statusCode).toBe(303);
    expect(await countSessions(current().opened.db)).toBe(before + 1);
    expect((await visitor.get('/products')).statusCode).toBe(200);
  });

  it('marks every page and the drafts and activity APIs Cache-Control: no-store', async () => {
    const client = new BrowserLikeClient(fixture().app);
    expect((await client.get('/login')).headers['cache-control']).toBe('no-store');
    await client.signIn('demo', 'demo');
    for (const url of [
      '/products',
      '/products/1/edit',
      '/products/1/history',
      '/settings',
      '/activity',
      '/status',
    ]) {
      const page = await client.get(url);
      expect(page.statusCode, url).toBe(200);
      expect(page.headers['cache-control'], url).toBe('no-store');
    }
    for (const url of ['/api/autosave/drafts/', '/api/activity']) {
      const api = await client.send('GET', url, { headers: { accept: 'application/json' } });
      expect(api.statusCode, url).toBe(200);
      expect(api.headers['cache-control'], url).toBe('no-store');
    }
  });

  it('answers a malformed percent-encoded URL through the one error handler, with the security headers', async () => {
    const { app } = fixture();
    for (const url of ['/products/%E0%A4%A', '/%zz', '/api/activity/%E0%A4%A']) {
      const json = await app.inject({ method: 'GET', url, headers: { accept: 'application/json' } });
      expect(json.statusCode, url).toBe(400);
      expect(json.json()).toEqual({
        error: 'invalid_request',
        message: expect.stringContaining('not a valid URL'),
      });
      expect(json.headers['content-security-policy'], url).toContain("script-src 'self'");
      expect(json.headers['x-content-type-options']).toBe('nosniff');
      expect(json.headers['cache-control']).toBe('no-store');
    }
    const page = await app.inject({
      method: 'GET',
      url: '/products/%E0%A4%A',
      headers: { accept: 'text/html' },
    });
    expect(page.statusCode).toBe(400);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    const missing = await app.inject({ method: 'GET', url: '/no-such-page' });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['x-content-type-options']).toBe('nosniff');
  });

  it('serves /metrics only to the bearer of METRICS_TOKEN', async () => {
    const { app } = fixture();
    const anonymous = await app.inject({ method: 'GET', url: '/metrics' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().error).toBe('unauthenticated');
    expect(anonymous.body).not.toContain('steadfast_');
    const wrong = await app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: 'Bearer nope' },
    });
    expect(wrong.statusCode).toBe(401);
    const scrape = await app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(scrape.statusCode).toBe(200);
    expect(scrape.body).toContain('steadfast_http_requests_total');
  });
});

describeEachDatabase('business app: /metrics off and trustProxy', (current) => {
  const fixture = useSeededApp(current);

  it('has no /metrics without a token', async () => {
    const response = await fixture().app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { accept: 'application/json' },
    });
    expect(response.statusCode).toBe(404);
  });

  it('believes no X-Forwarded-For by default, and the given hops when TRUST_PROXY says so', async () => {
    const addressOf = async (app: FastifyInstance) => {
      const client = new BrowserLikeClient(app, '10.0.0.9');
      await client.signIn('demo', 'demo');
      const page = await client.get('/settings');
      const response = await client.send('POST', '/settings/preferences', {
        body: new URLSearchParams({
          _csrf: client.csrfToken ?? '',
          pageSize: page.body.includes('value="10" selected') ? '20' : '10',
          theme: 'light',
          version_pageSize: inputValue(page.body, 'version_pageSize') ?? '',
          version_theme: inputValue(page.body, 'version_theme') ?? '',
        }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '198.51.100.23' },
      });
      expect(response.statusCode).toBe(303);
      const entry = await current()
        .opened.db.selectFrom('steadfast_activity_log')
        .select('ip')
        .where('object_id', '=', `user.${fixture().demoUserId}.page_size`)
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirstOrThrow();
      return entry.ip;
    };
    expect(await addressOf(fixture().app)).toBe('10.0.0.9');
    const { app: proxied } = await buildApp({
      database: current().opened,
      sessionSecret: TEST_SESSION_SECRET,
      trustProxy: 1,
    });
    try {
      expect(await addressOf(proxied)).toBe('198.51.100.23');
    } finally {
      await proxied.close();
    }
  });
});

describe('TRUST_PROXY', () => {
  it('reads a hop count or a list of addresses, off when empty, and refuses anything else', () => {
    expect(parseTrustProxy(undefined)).toBe(false);
    expect(parseTrustProxy('')).toBe(false);
    expect(parseTrustProxy('false')).toBe(false);
    expect(parseTrustProxy('2')).toBe(2);
    expect(parseTrustProxy('127.0.0.1, 10.0.0.0/8,loopback')).toEqual([
      '127.0.0.1',
      '10.0.0.0/8',
      'loopback',
    ]);
    expect(parseTrustProxy('::1')).toEqual(['::1']);
    expect(() => parseTrustProxy('true')).toThrow(ConfigError);
    expect(() => parseTrustProxy('everyone')).toThrow(/TRUST_PROXY/);
  });
});
