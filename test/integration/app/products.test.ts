import { beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../support/databases.js';
import { useSeededApp } from './app-fixture.js';
import { clearedDraftKeys, inputValue, PageClient } from './page-client.js';

/** The first product of the seed, as a fresh record for each test would make tests order-dependent. */
async function createProductThroughForm(client: PageClient, fields: Record<string, string>): Promise<number> {
  await client.get('/products/new');
  const response = await client.post('/products', {
    sku: `T-${Math.random().toString(36).slice(2, 10)}`,
    name: 'Test desk',
    description: 'For tests',
    price: '100.00',
    quantity: '4',
    category: 'Furniture',
    active: '1',
    ...fields,
  });
  expect(response.statusCode).toBe(303);
  const id = /^\/products\/(\d+)\/history$/.exec(response.location ?? '')?.[1];
  if (!id) throw new Error(`unexpected redirect ${String(response.location)}`);
  return Number(id);
}

const formFields = (overrides: Record<string, string>) => ({
  sku: overrides.sku ?? '',
  name: 'Test desk',
  description: 'For tests',
  price: '100.00',
  quantity: '4',
  category: 'Furniture',
  active: '1',
  ...overrides,
});

describeEachDatabase('business app: products', (current) => {
  const fixture = useSeededApp(current);
  let demo: PageClient;
  let olga: PageClient;

  beforeAll(async () => {
    demo = new PageClient(fixture().app);
    await demo.signIn('demo', 'demo');
    olga = new PageClient(fixture().app);
    await olga.signIn(fixture().otherUser.username, fixture().otherUser.password);
  });

  const productRow = (id: number) =>
    current().opened.db.selectFrom('products').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  describe('list', () => {
    it('lists the seeded products a page at a time, with paging links', async () => {
      const response = await demo.get('/products');
      expect(response.statusCode).toBe(200);
      // 36 seeded (+ any created by other tests) at the default 20 a page.
      expect(response.body.match(/class="product-name"/g)?.length).toBe(20);
      expect(response.body).toContain('Page 1 of');
      expect(response.body).toContain('href="/products?page=2"');
    });

    it('searches name, SKU and category case-insensitively', async () => {
      const byName = await demo.get('/products?q=ESPRESSO');
      expect(byName.body).toContain('Espresso Machine');
      expect(byName.body.match(/class="product-name"/g)?.length).toBe(1);
      const byCategory = await demo.get('/products?q=lighting');
      expect(byCategory.body.match(/class="product-name"/g)?.length).toBe(6);
    });

    it('treats % and _ in a search as literal characters', async () => {
      const response = await demo.get(`/products?q=${encodeURIComponent('%')}`);
      expect(response.body).toContain('No products found.');
    });
  });

  describe('edit through autoSave with the loaded version', () => {
    it('renders the edit form keyed product-<id> with data-autosave-version and the version field', async () => {
      const id = await createProductThroughForm(demo, {});
      const response = await demo.get(`/products/${id}/edit`);
      expect(response.statusCode).toBe(200);
      expect(response.body).toContain(`id="product-${id}"`);
      expect(response.body).toContain('data-autosave-version="1"');
      expect(inputValue(response.body, 'version')).toBe('1');
      expect(inputValue(response.body, 'price')).toBe('100.00');
    });

    it('saves, logs the change as the signed-in user, and clears the draft on the next page only', async () => {
      const id = await createProductThroughForm(demo, {});
      const product = await productRow(id);
      await demo.get(`/products/${id}/edit`);
      const response = await demo.post(
        `/products/${id}`,
        formFields({ sku: product.sku, version: '1', price: '120.5' }),
      );
      expect(response.statusCode).toBe(303);
      expect(response.location).toBe(`/products/${id}/history`);
      const saved = await productRow(id);
      expect(saved.price).toBe('120.50');
      expect(Number(saved.version)).toBe(2);

      const { entries } = await fixture().persistence.activityLog.query({
        model: 'Product',
        objectId: String(id),
      });
      expect(entries[0]?.action).toBe('update');
      expect(entries[0]?.actor).toBe(String(fixture().demoUserId));
      expect(entries[0]?.changes).toEqual({ price: ['100.00', '120.50'] });

      const history = await demo.get(`/products/${id}/history`);
      expect(clearedDraftKeys(history.body)).toEqual([`product-${id}`]);
      expect(history.body).toContain('Saved Test desk (version 2).');
      const again = await demo.get(`/products/${id}/history`);
      expect(clearedDraftKeys(again.body)).toEqual([]);
    });

    it('re-renders a form with errors (422), keeping the input and the draft', async () => {
      const id = await createProductThroughForm(demo, {});
      const product = await productRow(id);
      await demo.get(`/products/${id}/edit`);
      const response = await demo.post(
        `/products/${id}`,
        formFields({ sku: product.sku, version: '1', price: 'cheap', name: 'Kept name' }),
      );
      expect(response.statusCode).toBe(422);
      expect(response.body).toContain('Price must be an amount like 12.50');
      expect(inputValue(response.body, 'name')).toBe('Kept name');
      expect(clearedDraftKeys(response.body)).toEqual([]);
      expect(Number((await productRow(id)).version)).toBe(1);
    });

    it('maps a taken SKU from the persistence manager to the SKU field', async () => {
      const first = await createProductThroughForm(demo, {});
      const second = await createProductThroughForm(demo, {});
      const taken = (await productRow(first)).sku;
      await demo.get(`/products/${second}/edit`);
      const response = await demo.post(`/products/${second}`, formFields({ sku: taken, version: '1' }));
      expect(response.statusCode).toBe(422);
      expect(response.body).toContain('SKU is already taken');
    });

    it('refuses a submit that does not say which version it was loaded from', async () => {
      const id = await createProductThroughForm(demo, {});
      const product = await productRow(id);
      await demo.get(`/products/${id}/edit`);
      const response = await demo.post(`/products/${id}`, formFields({ sku: product.sku, price: '1.00' }));
      expect(response.statusCode).toBe(400);
      expect((await productRow(id)).price).toBe('100.00');
    });

    it('answers 404 for a product that does not exist', async () => {
      expect((await demo.get('/products/999999/edit')).statusCode).toBe(404);
      expect((await demo.get('/products/abc/history')).statusCode).toBe(404);
    });
  });

  describe('conflict page', () => {
    it('shows both versions, keeps the input with the newer version, and overwrites only on a deliberate re-submit', async () => {
      const id = await createProductThroughForm(demo, { name: 'Shared desk' });
      const sku = (await productRow(id)).sku;
      await demo.get(`/products/${id}/edit`);
      await olga.get(`/products/${id}/edit`);
      const theirs = await olga.post(
        `/products/${id}`,
        formFields({ sku, name: 'Shared desk', version: '1', price: '150.00' }),
      );
      expect(theirs.statusCode).toBe(303);

      const mine = await demo.post(
        `/products/${id}`,
        formFields({ sku, name: 'Shared desk', version: '1', price: '90.00' }),
      );
      expect(mine.statusCode).toBe(409);
      expect(mine.body).toContain('Someone else saved this product first');
      expect(mine.body).toContain('Olga &lt;Ops&gt; (olga) saved version 2');
      expect(mine.body).toMatch(/class="compare-yours">90\.00</);
      expect(mine.body).toMatch(/class="compare-theirs">150\.00</);
      expect(inputValue(mine.body, 'price')).toBe('90.00');
      expect(inputValue(mine.body, 'version')).toBe('2');
      expect(mine.body).toContain(`id="product-${id}"`);
      expect(mine.body).toContain('data-autosave-version="2"');
      expect(clearedDraftKeys(mine.body)).toEqual([]);
      // Nothing of the stale submit was written.
      expect((await productRow(id)).price).toBe('150.00');
      expect(Number((await productRow(id)).version)).toBe(2);

      const deliberate = await demo.post(
        `/products/${id}`,
        formFields({ sku, name: 'Shared desk', version: '2', price: '90.00' }),
      );
      expect(deliberate.statusCode).toBe(303);
      expect((await productRow(id)).price).toBe('90.00');
    });
  });

  describe('history and revert', () => {
    it('lists every version with its field diff, who and when', async () => {
      const id = await createProductThroughForm(demo, { name: 'History desk' });
      const sku = (await productRow(id)).sku;
      await olga.get(`/products/${id}/edit`);
      await olga.post(
        `/products/${id}`,
        formFields({ sku, name: 'History desk', version: '1', quantity: '9' }),
      );
      const response = await demo.get(`/products/${id}/history`);
      expect(response.statusCode).toBe(200);
      expect(response.body).toContain('id="version-2"');
      expect(response.body).toContain('id="version-1"');
      expect(response.body).toContain('Olga &lt;Ops&gt; (olga)');
      expect(response.body).toContain('Demo User (demo)');
      expect(response.body).toMatch(
        /Quantity<\/th>\s*<td data-label="Before" class="diff-before">4<\/td>\s*<td data-label="After" class="diff-after">9<\/td>/,
      );
      expect(response.body).toContain(`href="/products/${id}/revert/1"`);
      expect(response.body).not.toContain(`href="/products/${id}/revert/2"`);
    });

    it('asks for confirmation before a revert and changes nothing until confirmed', async () => {
      const id = await createProductThroughForm(demo, { name: 'Revert desk', price: '10.00' });
      const sku = (await productRow(id)).sku;
      await demo.get(`/products/${id}/edit`);
      await demo.post(
        `/products/${id}`,
        formFields({ sku, name: 'Revert desk', version: '1', price: '20.00' }),
      );

      const confirmation = await demo.get(`/products/${id}/revert/1`);
      expect(confirmation.statusCode).toBe(200);
      expect(confirmation.body).toContain('Revert Revert desk to version 1?');
      expect(confirmation.body).toMatch(
        /class="diff-before">20\.00<\/td>\s*<td data-label="After" class="diff-after">10\.00</,
      );
      expect(inputValue(confirmation.body, 'expectedVersion')).toBe('2');
      expect((await productRow(id)).price).toBe('20.00');

      const confirmed = await demo.post(`/products/${id}/revert/1`, { expectedVersion: '2' });
      expect(confirmed.statusCode).toBe(303);
      const reverted = await productRow(id);
      expect(reverted.price).toBe('10.00');
      expect(Number(reverted.version)).toBe(3);
      const { entries } = await fixture().persistence.activityLog.query({
        model: 'Product',
        objectId: String(id),
      });
      expect(entries[0]?.action).toBe('revert');
      expect(entries[0]?.actor).toBe(String(fixture().demoUserId));
      expect(entries[0]?.changes).toEqual({ price: ['20.00', '10.00'] });
    });

    it('refuses a confirmed revert when the product moved on since the confirmation page', async () => {
      const id = await createProductThroughForm(demo, { name: 'Moving desk', price: '10.00' });
      const sku = (await productRow(id)).sku;
      await demo.get(`/products/${id}/edit`);
      await demo.post(
        `/products/${id}`,
        formFields({ sku, name: 'Moving desk', version: '1', price: '20.00' }),
      );
      await demo.get(`/products/${id}/revert/1`);
      await olga.get(`/products/${id}/edit`);
      await olga.post(
        `/products/${id}`,
        formFields({ sku, name: 'Moving desk', version: '2', price: '30.00' }),
      );
      const stale = await demo.post(`/products/${id}/revert/1`, { expectedVersion: '2' });
      expect(stale.statusCode).toBe(409);
      expect(stale.body).toContain('Someone changed this product after you opened this page');
      expect((await productRow(id)).price).toBe('30.00');
    });
  });

  describe('escaping', () => {
    it('escapes a product name in the list, the history and the activity log', async () => {
      const evil = '<script>alert("x")</script><img src=x onerror=alert(1)>';
      const id = await createProductThroughForm(demo, { name: evil });
      const escaped = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;';
      const pages = [
        await demo.get(`/products?q=${encodeURIComponent('alert')}`),
        await demo.get(`/products/${id}/history`),
        await demo.get('/activity?model=Product'),
        await demo.get(`/products/${id}/edit`),
      ];
      for (const page of pages) {
        expect(page.statusCode).toBe(200);
        expect(page.body).toContain(escaped);
        expect(page.body).not.toContain('<script>alert');
        expect(page.body).not.toContain('<img src=x');
      }
    });
  });
});
