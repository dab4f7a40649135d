import { beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../support/databases.js';
import { useSeededApp } from './app-fixture.js';
import { clearedDraftKeys, inputValue, PageClient } from './page-client.js';

describeEachDatabase('business app: settings and activity', (current) => {
  const fixture = useSeededApp(current);
  let demo: PageClient;
  let olga: PageClient;

  beforeAll(async () => {
    demo = new PageClient(fixture().app);
    await demo.signIn('demo', 'demo');
    olga = new PageClient(fixture().app);
    await olga.signIn(fixture().otherUser.username, fixture().otherUser.password);
  });

  const settingsVersions = (html: string) => ({
    version_companyName: inputValue(html, 'version_companyName') ?? '',
    version_currency: inputValue(html, 'version_currency') ?? '',
    version_lowStockThreshold: inputValue(html, 'version_lowStockThreshold') ?? '',
  });

  describe('settings', () => {
    it('saves company settings through autoSave, logged as the user, and shows them in the layout', async () => {
      const page = await demo.get('/settings');
      expect(page.statusCode).toBe(200);
      expect(inputValue(page.body, 'companyName')).toBe('Steadfast Supplies');
      const response = await demo.post('/settings/app', {
        companyName: 'Acme & Sons',
        currency: 'EUR',
        lowStockThreshold: '3',
        ...settingsVersions(page.body),
      });
      expect(response.statusCode).toBe(303);
      const after = await demo.get('/settings');
      expect(after.body).toContain('<title>Settings · Acme &amp; Sons</title>');
      expect(clearedDraftKeys(after.body)).toEqual(['settings-app']);
      const { entries } = await fixture().persistence.activityLog.query({
        model: 'Setting',
        action: 'update',
      });
      const companyEntry = entries.find((entry) => entry.objectId === 'app.company_name');
      expect(companyEntry?.actor).toBe(String(fixture().demoUserId));
      expect(companyEntry?.changes).toEqual({ value: ['"Steadfast Supplies"', '"Acme & Sons"'] });
      const activity = await demo.get('/activity?model=Setting&action=update');
      expect(activity.body).toContain('class="diff-after">Acme &amp; Sons</td>');
      const list = await demo.get('/products?q=espresso');
      expect(list.body).toContain('449.00 EUR');
    });

    it('rejects invalid settings with 422 and keeps the input', async () => {
      const page = await demo.get('/settings');
      const response = await demo.post('/settings/app', {
        companyName: '',
        currency: 'XXX',
        lowStockThreshold: '-1',
        ...settingsVersions(page.body),
      });
      expect(response.statusCode).toBe(422);
      expect(response.body).toContain('Company name is required');
      expect(response.body).toContain('Low-stock threshold must be 0 or more');
    });

    it('keeps the user input and shows the newer values when someone else saved the settings first', async () => {
      const mine = await demo.get('/settings');
      const theirs = await olga.get('/settings');
      await olga.post('/settings/app', {
        companyName: 'Olga Trading',
        currency: 'GBP',
        lowStockThreshold: '2',
        ...settingsVersions(theirs.body),
      });
      const response = await demo.post('/settings/app', {
        companyName: 'Demo Trading',
        currency: 'USD',
        lowStockThreshold: '2',
        ...settingsVersions(mine.body),
      });
      expect(response.statusCode).toBe(409);
      expect(response.body).toContain('company name &quot;Olga Trading&quot;');
      expect(inputValue(response.body, 'companyName')).toBe('Demo Trading');
      const stored = await current()
        .opened.db.selectFrom('settings')
        .select('value')
        .where('id', '=', 'app.company_name')
        .executeTakeFirstOrThrow();
      expect(stored.value).toBe('"Olga Trading"');
    });

    it("saves the user's own preferences as user settings and applies the page size and theme", async () => {
      const page = await olga.get('/settings');
      const response = await olga.post('/settings/preferences', {
        pageSize: '10',
        theme: 'dark',
        version_pageSize: inputValue(page.body, 'version_pageSize') ?? '',
        version_theme: inputValue(page.body, 'version_theme') ?? '',
      });
      expect(response.statusCode).toBe(303);
      const list = await olga.get('/products');
      expect(list.body.match(/class="product-name"/g)?.length).toBe(10);
      expect(list.body).toContain('data-theme="dark"');
      const stored = await current()
        .opened.db.selectFrom('settings')
        .select(['id', 'value'])
        .where('id', 'like', `user.${fixture().otherUser.id}.%`)
        .orderBy('id')
        .execute();
      expect(stored).toEqual([
        { id: `user.${fixture().otherUser.id}.page_size`, value: '10' },
        { id: `user.${fixture().otherUser.id}.theme`, value: '"dark"' },
      ]);
      // Another user's preferences are untouched.
      const demoList = await demo.get('/products');
      expect(demoList.body.match(/class="product-name"/g)?.length).toBe(20);
      const { entries } = await fixture().persistence.activityLog.query({
        model: 'Setting',
        objectId: `user.${fixture().otherUser.id}.theme`,
      });
      expect(entries[0]?.action).toBe('create');
      expect(entries[0]?.actor).toBe(String(fixture().otherUser.id));
    });
  });

  describe('activity', () => {
    const entryCount = (html: string) => html.match(/class="timeline__entry activity-entry"/g)?.length ?? 0;

    it('shows the whole log newest first, 25 a page, with a link to older entries', async () => {
      const response = await demo.get('/activity');
      expect(response.statusCode).toBe(200);
      expect(entryCount(response.body)).toBe(25);
      const older = /href="(\/activity\?cursor=\d+)"/.exec(response.body)?.[1];
      expect(older).toBeDefined();
      const next = await demo.get(older ?? '');
      expect(entryCount(next.body)).toBeGreaterThan(0);
      expect(next.body).toContain('href="/activity?"');
    });

    it('filters by model, user and action', async () => {
      const settingsOnly = await demo.get('/activity?model=Setting');
      expect(entryCount(settingsOnly.body)).toBeGreaterThan(0);
      expect(settingsOnly.body).toMatch(/<span>Setting /);
      expect(settingsOnly.body).not.toMatch(/<span>Product /);

      const byOlga = await demo.get(`/activity?actor=${fixture().otherUser.id}`);
      expect(entryCount(byOlga.body)).toBeGreaterThan(0);
      expect(byOlga.body).not.toContain('by <span class="actor">Demo User (demo)</span>');
      expect(byOlga.body).toContain('by <span class="actor">Olga &lt;Ops&gt; (olga)</span>');

      const seeded = await demo.get('/activity?actor=seed&action=create&model=Product');
      expect(entryCount(seeded.body)).toBe(25);
      expect(seeded.body).toContain('by <span class="actor">Demo data (seed)</span>');
      expect(seeded.body).not.toContain('data-action="update"');
    });

    it('filters by date, the "to" day included', async () => {
      const today = new Date().toISOString().slice(0, 10);
      const included = await demo.get(`/activity?from=${today}&to=${today}`);
      expect(entryCount(included.body)).toBeGreaterThan(0);
      const past = await demo.get('/activity?to=2000-01-01');
      expect(entryCount(past.body)).toBe(0);
      expect(past.body).toContain('No activity matches these filters.');
    });

    it('ignores malformed filters instead of failing the page', async () => {
      const response = await demo.get('/activity?model=Nope&action=explode&from=yesterday&cursor=abc');
      expect(response.statusCode).toBe(200);
      expect(entryCount(response.body)).toBe(25);
      // A NUL in the user filter is dropped; the last day there is still filters (no day after it).
      const edge = await demo.get('/activity?actor=se%00ed&to=9999-12-31');
      expect(edge.statusCode).toBe(200);
      expect(entryCount(edge.body)).toBe(25);
    });
  });
});
