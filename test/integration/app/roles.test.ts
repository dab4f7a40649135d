/**
 * The demo's roles (roles.ts), through its pages: an administrator may do everything, an editor
 * may change products but not the company settings and not revert, a viewer only reads. A page
 * shows only what its reader's role may do; a refused POST answers 403 through the error page,
 * writes nothing (every table dumped before and after), and leaves one refusal in the log.
 */
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { migrateApp } from '../../../examples/business-app/src/migrations.js';
import { ForbiddenError, openDatabase } from '../../../packages/steadfast/src/persistence/index.js';
import { createTestDatabase, describeEachDatabase } from '../../support/databases.js';
import { dumpTables, expectOnlyRefusalsAdded, type TableDump } from '../../support/table-dump.js';
import { useSeededApp } from './app-fixture.js';
import { inputValue, PageClient } from './page-client.js';

const productForm = (sku: string, overrides: Record<string, string> = {}) => ({
  sku,
  name: 'Role desk',
  description: 'For the roles test',
  price: '100.00',
  quantity: '4',
  category: 'Furniture',
  active: '1',
  ...overrides,
});

/** Sessions are the sign-in's bookkeeping (a page view may touch one), not records: left out. */
function withoutSessions(dump: TableDump): TableDump {
  const { steadfast_sessions: _sessions, ...rest } = dump;
  return rest;
}

describeEachDatabase('business app: roles', (current) => {
  const fixture = useSeededApp(current);
  let admin: PageClient;
  let editor: PageClient;
  let viewer: PageClient;
  let userIds: Record<string, number>;
  let productId: number;
  let productSku: string;
  const dump = async () => withoutSessions(await dumpTables(current().opened.db));
  const productVersion = async (id: number) =>
    Number(
      (
        await current()
          .opened.db.selectFrom('products')
          .select('version')
          .where('id', '=', id)
          .executeTakeFirstOrThrow()
      ).version,
    );

  beforeAll(async () => {
    admin = new PageClient(fixture().app);
    await admin.signIn('demo', 'demo');
    editor = new PageClient(fixture().app);
    await editor.signIn('editor', 'editor');
    viewer = new PageClient(fixture().app);
    await viewer.signIn('viewer', 'viewer');
    const users = await current()
      .opened.db.selectFrom('steadfast_users')
      .select(['id', 'username'])
      .execute();
    userIds = Object.fromEntries(users.map((user) => [user.username, Number(user.id)]));
    const product = await current()
      .opened.db.selectFrom('products')
      .select(['id', 'sku'])
      .orderBy('id')
      .executeTakeFirstOrThrow();
    productId = Number(product.id);
    productSku = product.sku;
    // A second version, so that there is one to revert to.
    await admin.get(`/products/${productId}/edit`);
    const changed = await admin.post(`/products/${productId}`, {
      ...productForm(productSku, { name: 'Before the roles test' }),
      version: String(await productVersion(productId)),
    });
    expect(changed.statusCode, changed.body.slice(0, 3000)).toBe(303);
  });

  it('seeds a user of each role, and the login page and the header name them', async () => {
    const login = await new PageClient(fixture().app).get('/login');
    expect(login.body).toContain('<strong>editor</strong> / <strong>editor</strong>');
    expect(login.body).toContain('<strong>viewer</strong> / <strong>viewer</strong>');
    for (const [client, role] of [
      [admin, 'admin'],
      [editor, 'editor'],
      [viewer, 'viewer'],
    ] as const) {
      expect((await client.get('/products')).body).toContain(`id="user-role">${role}</span>`);
    }
  });

  describe('an administrator', () => {
    it('is offered every action: new and edit, revert, the company settings form', async () => {
      const list = await admin.get('/products');
      expect(list.body).toContain('href="/products/new"');
      expect(list.body).toContain(`href="/products/${productId}/edit"`);
      const history = await admin.get(`/products/${productId}/history`);
      expect(history.body).toContain(`href="/products/${productId}/revert/1"`);
      expect((await admin.get(`/products/${productId}/revert/1`)).statusCode).toBe(200);
      const settings = await admin.get('/settings');
      expect(settings.body).toContain('action="/settings/app"');
      expect(settings.body).not.toContain('id="company-read-only"');
    });
  });

  describe('an editor', () => {
    it('changes products, logged as the editor', async () => {
      expect((await editor.get(`/products/${productId}/edit`)).statusCode).toBe(200);
      const response = await editor.post(`/products/${productId}`, {
        ...productForm(productSku, { quantity: '11' }),
        version: String(await productVersion(productId)),
      });
      expect(response.statusCode).toBe(303);
      const { entries } = await fixture().persistence.activityLog.query({
        model: 'Product',
        objectId: String(productId),
        limit: 1,
      });
      expect(entries[0]).toMatchObject({ action: 'update', actor: String(userIds.editor) });
    });

    it('is shown the company settings read-only and no revert; the revert page is refused', async () => {
      const settings = await editor.get('/settings');
      expect(settings.statusCode).toBe(200);
      expect(settings.body).not.toContain('action="/settings/app"');
      expect(settings.body).toContain('Only an administrator can change the company settings.');
      // Their own preferences stay theirs to set.
      expect(settings.body).toContain('action="/settings/preferences"');
      const history = await editor.get(`/products/${productId}/history`);
      expect(history.body).toContain(`href="/products/${productId}/edit"`);
      expect(history.body).not.toContain('/revert/');
      const page = await editor.get(`/products/${productId}/revert/1`);
      expect(page.statusCode).toBe(403);
      expect(page.body).toContain('Only an administrator can revert a change.');
    });

    it('cannot change the company settings: 403 through the error page, nothing written, the refusal logged', async () => {
      const versions = await admin.get('/settings');
      await editor.get('/settings');
      const before = await dump();
      const response = await editor.post('/settings/app', {
        companyName: 'Editor Trading',
        currency: 'EUR',
        lowStockThreshold: '1',
        version_companyName: inputValue(versions.body, 'version_companyName') ?? '0',
        version_currency: inputValue(versions.body, 'version_currency') ?? '0',
        version_lowStockThreshold: inputValue(versions.body, 'version_lowStockThreshold') ?? '0',
      });
      expect(response.statusCode).toBe(403);
      expect(response.body).toContain('<h1>Not allowed</h1>');
      expect(response.body).toContain('Only an administrator can change the company settings.');
      const [refusal, ...more] = expectOnlyRefusalsAdded(before, await dump());
      expect(more).toEqual([]);
      expect(refusal).toMatchObject({ actor: String(userIds.editor), object_id: 'Setting' });
      // The administrator finds it in the log, with its reason.
      const log = await admin.get('/activity?action=refused');
      expect(log.body).toContain('Refused: Only an administrator can change the company settings.');
    });

    it('cannot revert: 403 through the error page, nothing written, the refusal logged', async () => {
      const before = await dump();
      const response = await editor.post(`/products/${productId}/revert/1`, {
        expectedVersion: String(await productVersion(productId)),
      });
      expect(response.statusCode).toBe(403);
      expect(response.body).toContain('Only an administrator can revert a change.');
      const [refusal, ...more] = expectOnlyRefusalsAdded(before, await dump());
      expect(more).toEqual([]);
      expect(refusal).toMatchObject({ actor: String(userIds.editor), object_id: `Product:${productId}` });
      expect(JSON.parse(String(refusal?.snapshot))).toMatchObject({ action: 'revert' });
    });
  });

  describe('a viewer', () => {
    it('is offered no edit, no new product, no revert, no company settings form', async () => {
      const list = await viewer.get('/products');
      expect(list.statusCode).toBe(200);
      expect(list.body).not.toContain('href="/products/new"');
      expect(list.body).not.toMatch(/href="\/products\/\d+\/edit"/);
      expect(list.body).toMatch(/href="\/products\/\d+\/history"/);
      const history = await viewer.get(`/products/${productId}/history`);
      expect(history.body).not.toContain(`/products/${productId}/edit`);
      expect(history.body).not.toContain('/revert/');
      expect((await viewer.get('/products/new')).statusCode).toBe(403);
      expect((await viewer.get(`/products/${productId}/edit`)).statusCode).toBe(403);
      expect((await viewer.get('/settings')).body).not.toContain('action="/settings/app"');
    });

    it('cannot save a product, new or existing: 403, nothing written, each refusal logged', async () => {
      await viewer.get('/products');
      const before = await dump();
      const created = await viewer.post('/products', productForm('VIEWER-1'));
      expect(created.statusCode).toBe(403);
      expect(created.body).toContain('Your account can look at products but not change them.');
      const changed = await viewer.post(`/products/${productId}`, {
        ...productForm(productSku, { price: '1.00' }),
        version: String(await productVersion(productId)),
      });
      expect(changed.statusCode).toBe(403);
      const refusals = expectOnlyRefusalsAdded(before, await dump());
      expect(refusals.map((row) => row.object_id).sort()).toEqual(['Product', `Product:${productId}`].sort());
      for (const row of refusals) expect(row.actor).toBe(String(userIds.viewer));
    });

    it('keeps their own preferences, and drafts', async () => {
      const page = await viewer.get('/settings');
      const saved = await viewer.post('/settings/preferences', {
        pageSize: '50',
        theme: 'dark',
        version_pageSize: inputValue(page.body, 'version_pageSize') ?? '0',
        version_theme: inputValue(page.body, 'version_theme') ?? '0',
      });
      expect(saved.statusCode).toBe(303);
      expect((await viewer.get('/products')).body).toContain('data-theme="dark"');
      const synced = await viewer.postJson('/api/autosave/sync/', {
        clientId: crypto.randomUUID(),
        changes: [
          {
            mutationId: 1,
            kind: 'form',
            key: `product-${productId}`,
            data: { name: 'A draft' },
            savedAt: new Date().toISOString(),
          },
        ],
      });
      expect(synced.statusCode).toBe(200);
    });

    it('is refused by the rule itself, whatever asks: the persistence layer refuses their save', async () => {
      const { persistence } = fixture();
      await expect(
        persistence.runAs(String(userIds.viewer), () =>
          persistence.autoSave('Product', { id: productId, quantity: 0 }),
        ),
      ).rejects.toBeInstanceOf(ForbiddenError);
      await expect(
        persistence.runAs(String(userIds.editor), () => persistence.autoDelete('Product', productId)),
      ).resolves.toBeDefined();
    });
  });
});

describeEachDatabase('business app: the roles migration', (current) => {
  it('makes the users from before roles administrators, and a new user a viewer', async () => {
    const database = await createTestDatabase(current().engine, { migrate: false });
    const opened = await openDatabase(database.url, { sessions: true });
    try {
      const now = new Date().toISOString();
      await sql`insert into steadfast_users (username, display_name, password_hash, version, created_at, updated_at)
        values ('old', 'Old Timer', 'x', 1, ${now}, ${now})`.execute(opened.db);
      await migrateApp(opened.db);
      await sql`insert into steadfast_users (username, display_name, password_hash, version, created_at, updated_at)
        values ('new', 'Newcomer', 'x', 1, ${now}, ${now})`.execute(opened.db);
      const { rows } = await sql<{
        username: string;
        role: string;
      }>`select username, role from steadfast_users order by username`.execute(opened.db);
      expect(rows).toEqual([
        { username: 'new', role: 'viewer' },
        { username: 'old', role: 'admin' },
      ]);
      await expect(sql`update steadfast_users set role = 'boss'`.execute(opened.db)).rejects.toThrow();
    } finally {
      await opened.close();
      await database.drop();
    }
  });
});
