/**
 * Security review, part 2: one user never reads another's drafts (drafts API, activity API and
 * pages, product history), and markup stored in any field comes back escaped on every page that
 * shows it, activity diffs included.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { SYNC_PATH } from '../../../packages/steadfast/src/protocol/constants.js';
import { describeEachDatabase } from '../../support/databases.js';
import { useSeededApp } from '../app/app-fixture.js';
import { BrowserLikeClient } from './browser-like-client.js';

const SECRET_DRAFT_TEXT = 'demo-private-draft-7f3a9c';
const SCRIPT = '<script>alert(1)</script>';
const IMG = '"><img src=x onerror=alert(1)>';

/** The raw markup must never appear; its escaped form shows the field really was rendered. */
function expectEscaped(page: string, where: string): void {
  expect(page, `${where}: raw <script>`).not.toContain('<script>alert(1)');
  expect(page, `${where}: raw <img onerror>`).not.toContain('<img src=x onerror');
}

describeEachDatabase('security: IDOR and stored XSS', (current) => {
  const fixture = useSeededApp(current);
  let demo: BrowserLikeClient;
  let olga: BrowserLikeClient;
  const demoClientId = randomUUID();

  beforeAll(async () => {
    demo = new BrowserLikeClient(fixture().app);
    expect((await demo.signIn('demo', 'demo')).statusCode).toBe(303);
    olga = new BrowserLikeClient(fixture().app);
    const other = fixture().otherUser;
    expect((await olga.signIn(other.username, other.password)).statusCode).toBe(303);
    const synced = await demo.postJson(SYNC_PATH, {
      clientId: demoClientId,
      changes: [
        {
          mutationId: 1,
          kind: 'form',
          key: 'product-1',
          data: { name: SECRET_DRAFT_TEXT },
          baseVersion: 1,
          savedAt: new Date().toISOString(),
        },
        {
          mutationId: 2,
          kind: 'state',
          key: 'ui/panel',
          data: SECRET_DRAFT_TEXT,
          savedAt: new Date().toISOString(),
        },
      ],
    });
    expect(synced.statusCode).toBe(200);
  });

  describe('IDOR', () => {
    it('the owner reads their draft (the control)', async () => {
      const own = await demo.send('GET', '/api/autosave/drafts/?key=product-1', {
        headers: { accept: 'application/json' },
      });
      expect(own.statusCode).toBe(200);
      expect(own.body).toContain(SECRET_DRAFT_TEXT);
    });

    it('another user sees none of them in the drafts API', async () => {
      const list = await olga.send('GET', '/api/autosave/drafts/', {
        headers: { accept: 'application/json' },
      });
      expect(list.statusCode).toBe(200);
      expect(list.body).not.toContain(SECRET_DRAFT_TEXT);
      for (const key of ['product-1', 'ui/panel']) {
        const one = await olga.send('GET', `/api/autosave/drafts/?key=${encodeURIComponent(key)}`, {
          headers: { accept: 'application/json' },
        });
        expect(one.statusCode).toBe(404);
        expect(one.body).not.toContain(SECRET_DRAFT_TEXT);
      }
    });

    it('another user cannot write under the owner’s clientId', async () => {
      const response = await olga.postJson(SYNC_PATH, {
        clientId: demoClientId,
        changes: [
          {
            mutationId: 3,
            kind: 'form',
            key: 'product-1',
            data: { name: 'olga' },
            savedAt: new Date().toISOString(),
          },
        ],
      });
      expect(response.statusCode).toBe(403);
    });

    it('another user does not read the draft through the activity API', async () => {
      for (const query of ['', '?model=Draft', '?action=sync', `?actor=${fixture().demoUserId}`]) {
        const response = await olga.send('GET', `/api/activity${query}`, {
          headers: { accept: 'application/json' },
        });
        expect(response.statusCode, query).toBeLessThan(500);
        expect(response.body, `/api/activity${query}`).not.toContain(SECRET_DRAFT_TEXT);
      }
    });

    it('another user does not read the draft on the activity and history pages', async () => {
      for (const url of ['/activity', '/activity?action=sync', '/products/1/history', '/products/1/edit']) {
        const page = await olga.get(url);
        expect(page.statusCode, url).toBe(200);
        expect(page.body, url).not.toContain(SECRET_DRAFT_TEXT);
      }
    });
  });

  describe('stored XSS', () => {
    let productId: number;

    beforeAll(async () => {
      await demo.get('/products/new');
      const created = await demo.postForm('/products', {
        sku: `X-${IMG}`.slice(0, 40),
        name: `${SCRIPT}${IMG}`,
        description: `${SCRIPT} and ${IMG}`,
        price: '1.00',
        quantity: '1',
        category: `${IMG}`,
        active: '1',
      });
      expect(created.statusCode, created.body.slice(0, 300)).toBe(303);
      productId = Number(/\/products\/(\d+)\//.exec(String(created.headers.location))?.[1]);
      // An update, so the history and activity diffs show the payload as before and after.
      const edit = await demo.get(`/products/${productId}/edit`);
      const version = /name="version" value="(\d+)"/.exec(edit.body)?.[1] ?? '';
      const updated = await demo.postForm(`/products/${productId}`, {
        sku: `Y-${SCRIPT}`.slice(0, 40),
        name: `${IMG}${SCRIPT} v2`,
        description: `${IMG} v2`,
        price: '2.00',
        quantity: '2',
        category: `${SCRIPT}`,
        active: '1',
        version,
      });
      expect(updated.statusCode, updated.body.slice(0, 300)).toBe(303);
      await demo.get('/settings');
      const settingsPage = (await demo.get('/settings')).body;
      const versionOf = (name: string) =>
        new RegExp(`name="version_${name}" value="(\\d*)"`).exec(settingsPage)?.[1] ?? '';
      const settings = await demo.postForm('/settings/app', {
        companyName: `${SCRIPT}${IMG}`,
        currency: 'USD',
        lowStockThreshold: '5',
        version_companyName: versionOf('companyName'),
        version_currency: versionOf('currency'),
        version_lowStockThreshold: versionOf('lowStockThreshold'),
      });
      expect(settings.statusCode, settings.body.slice(0, 300)).toBe(303);
    });

    it('escapes product fields, settings and activity diffs on every page that shows them', async () => {
      const pages = [
        '/products',
        `/products?q=${encodeURIComponent('alert')}`,
        `/products/${productId}/edit`,
        `/products/${productId}/history`,
        `/products/${productId}/revert/1`,
        '/activity',
        '/activity?model=Product',
        '/activity?model=Setting',
        '/settings',
        '/status',
      ];
      for (const url of pages) {
        const page = await demo.get(url);
        expect(page.statusCode, url).toBe(200);
        expectEscaped(page.body, url);
      }
      // The payload was shown (escaped), not dropped: the check above could have failed.
      const history = await demo.get(`/products/${productId}/history`);
      expect(history.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      const activity = await demo.get('/activity?model=Setting');
      expect(activity.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    });

    it('escapes a search term and a rejected form’s input reflected back', async () => {
      const search = await demo.get(`/products?q=${encodeURIComponent(`${SCRIPT}${IMG}`)}`);
      expectEscaped(search.body, 'search');
      await demo.get('/products/new');
      const rejected = await demo.postForm('/products', {
        sku: '',
        name: `${SCRIPT}${IMG}`,
        description: IMG,
        price: 'not money',
        quantity: '1',
        category: IMG,
        active: '1',
      });
      expect(rejected.statusCode).toBe(422);
      expectEscaped(rejected.body, 'rejected form');
      expect(rejected.body).toContain('&lt;script&gt;');
    });

    it('sends a CSP that blocks inline scripts, a second line of defence', async () => {
      const page = await demo.get('/products');
      const csp = String(page.headers['content-security-policy'] ?? '');
      const scriptSrc = /(?:^|;)\s*script-src ([^;]*)/.exec(csp)?.[1] ?? '';
      expect(scriptSrc).toBe("'self'");
      expect(csp).toContain("script-src-attr 'none'");
    });
  });
});
