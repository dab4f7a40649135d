import { beforeAll, describe, expect, it } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import { pruneActivityLog } from '../../../packages/steadfast/src/persistence/index.js';
import { describeEachDatabase } from '../../support/databases.js';
import { createProduct } from '../../support/persistence-fixtures.js';
import { useSeededApp } from './app-fixture.js';
import { clearedDraftKeys, hiddenFields, inputValue, PageClient } from './page-client.js';

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

  describe('a submit at an old version: the merge', () => {
    /** Demo and Olga both open the edit form at version 1; Olga saves first. */
    async function bothEditThenOlgaSaves(name: string, olgasEdits: Record<string, string>) {
      const id = await createProductThroughForm(demo, { name });
      const sku = (await productRow(id)).sku;
      await demo.get(`/products/${id}/edit`);
      await olga.get(`/products/${id}/edit`);
      const theirs = await olga.post(
        `/products/${id}`,
        formFields({ sku, name, version: '1', ...olgasEdits }),
      );
      expect(theirs.statusCode).toBe(303);
      return { id, sku };
    }

    const logOf = async (id: number) =>
      (await fixture().persistence.activityLog.query({ model: 'Product', objectId: String(id) })).entries;

    it('saves both users’ changes with no question when they do not conflict, and says so', async () => {
      const { id, sku } = await bothEditThenOlgaSaves('Merge desk', { name: 'Renamed desk' });
      // Demo's form still holds the name as loaded: only the price is demo's change.
      const mine = await demo.post(
        `/products/${id}`,
        formFields({ sku, name: 'Merge desk', version: '1', price: '120' }),
      );
      expect(mine.statusCode).toBe(303);
      expect(mine.location).toBe(`/products/${id}/history`);
      const saved = await productRow(id);
      expect(saved).toMatchObject({ name: 'Renamed desk', price: '120.00' });
      expect(Number(saved.version)).toBe(3);

      const history = await demo.get(`/products/${id}/history`);
      expect(history.body).toContain(
        'Olga &lt;Ops&gt; (olga) saved this product while you were editing it; your changes were merged with theirs and saved as version 3. Yours: Price. Theirs: Name.',
      );
      expect(clearedDraftKeys(history.body)).toEqual([`product-${id}`]);
      const [demosSave, olgasSave] = await logOf(id);
      expect(demosSave).toMatchObject({ version: 3, actor: String(fixture().demoUserId) });
      expect(demosSave?.changes).toEqual({ price: ['100.00', '120.00'] });
      expect(olgasSave?.changes).toEqual({ name: ['Merge desk', 'Renamed desk'] });
    });

    it('offers the merge page for a field both changed: its three values and a choice in words; nothing saved yet', async () => {
      const { id, sku } = await bothEditThenOlgaSaves('Shared desk', {
        description: 'Olga’s words',
        quantity: '9',
      });
      const mine = await demo.post(
        `/products/${id}`,
        formFields({
          sku,
          name: 'Shared desk',
          version: '1',
          price: '90.00',
          description: 'Demo’s <b>words</b>',
        }),
      );
      expect(mine.statusCode).toBe(409);
      expect(mine.body).toContain('Someone else saved this product first');
      expect(mine.body).toContain('Olga &lt;Ops&gt; (olga) saved version 2');
      // Merged for the user: the price is demo's, the quantity Olga's, each saying so.
      expect(mine.body).toMatch(
        /id="merge-price"[^>]*>\s*<th scope="row">Price<\/th>\s*<td[^>]*>90\.00<\/td>\s*<td[^>]*>Your change</,
      );
      expect(mine.body).toMatch(
        /id="merge-quantity"[^>]*>\s*<th scope="row">Quantity<\/th>\s*<td[^>]*>9<\/td>\s*<td[^>]*>Saved by Olga &lt;Ops&gt; \(olga\) at <time/,
      );
      expect(mine.body).toMatch(/id="merge-name"[\s\S]*?Unchanged</);
      // The conflict: a fieldset whose legend names it, one radio a value, each labelled in words.
      expect(mine.body).toContain(
        '<legend>Description: you both changed it. Which value should the product keep?</legend>',
      );
      expect(mine.body).toMatch(
        /<input type="radio" id="choice-description-yours" name="choice_description" value="yours">\s*<label for="choice-description-yours">Yours: <span class="choice-value compare-yours">Demo’s &lt;b&gt;words&lt;\/b&gt;<\/span>/,
      );
      expect(mine.body).toMatch(
        /<label for="choice-description-theirs">Theirs \(saved by Olga &lt;Ops&gt; \(olga\) at [^)]*\): <span class="choice-value compare-theirs">Olga’s words<\/span>/,
      );
      expect(mine.body).toMatch(
        /<label for="choice-description-original">The original \(version 1\): <span class="choice-value compare-original">For tests<\/span>/,
      );
      expect(mine.body).not.toContain('<b>words');
      expect(mine.body.match(/name="choice_/g)).toHaveLength(3);
      // The form carries what demo submitted, the versions, and the CSRF token; the browser service
      // leaves it alone, and the draft is kept.
      const hidden = hiddenFields(mine.body, 'product-merge');
      expect(hidden).toMatchObject({
        baseVersion: '1',
        currentVersion: '2',
        price: '90.00',
        description: 'Demo’s <b>words</b>',
        active: '1',
      });
      expect(hidden._csrf).toBe(demo.csrfToken);
      expect(mine.body).toMatch(
        /<form method="post" action="\/products\/\d+\/merge" id="product-merge"[^>]*data-autosave="off"/,
      );
      expect(clearedDraftKeys(mine.body)).toEqual([]);
      const stored = await productRow(id);
      expect(stored).toMatchObject({ price: '100.00', description: 'Olga’s words', quantity: 9 });
      expect(Number(stored.version)).toBe(2);
    });

    for (const [choice, description] of [
      ['yours', 'Demo’s words'],
      ['theirs', 'Olga’s words'],
      ['original', 'For tests'],
    ] as const) {
      it(`saves the ${choice} value chosen, with both users’ other changes; the history shows every change`, async () => {
        const { id, sku } = await bothEditThenOlgaSaves(`Choice desk ${choice}`, {
          description: 'Olga’s words',
          quantity: '9',
        });
        const page = await demo.post(
          `/products/${id}`,
          formFields({
            sku,
            name: `Choice desk ${choice}`,
            version: '1',
            price: '90.00',
            description: 'Demo’s words',
          }),
        );
        expect(page.statusCode).toBe(409);
        const chosen = await demo.post(`/products/${id}/merge`, {
          ...hiddenFields(page.body, 'product-merge'),
          choice_description: choice,
        });
        expect(chosen.statusCode).toBe(303);
        expect(chosen.location).toBe(`/products/${id}/history`);
        const saved = await productRow(id);
        expect(saved).toMatchObject({ description, quantity: 9, price: '90.00' });
        expect(Number(saved.version)).toBe(3);

        const [demosSave, olgasSave] = await logOf(id);
        expect(olgasSave?.changes).toEqual({ description: ['For tests', 'Olga’s words'], quantity: [4, 9] });
        expect(demosSave?.changes).toEqual({
          price: ['100.00', '90.00'],
          ...(choice === 'theirs' ? {} : { description: ['Olga’s words', description] }),
        });
        const history = await demo.get(`/products/${id}/history`);
        for (const version of [1, 2, 3]) expect(history.body).toContain(`id="version-${version}"`);
        expect(history.body).toContain('Your choice: Description.');
        expect(clearedDraftKeys(history.body)).toEqual([`product-${id}`]);
      });
    }

    it('asks again, saving nothing, when a conflict is left without a choice or the product moved on meanwhile', async () => {
      const { id, sku } = await bothEditThenOlgaSaves('Moving merge desk', { description: 'Olga’s words' });
      const page = await demo.post(
        `/products/${id}`,
        formFields({ sku, name: 'Moving merge desk', version: '1', description: 'Demo’s words' }),
      );
      const form = hiddenFields(page.body, 'product-merge');
      const unanswered = await demo.post(`/products/${id}/merge`, form);
      expect(unanswered.statusCode).toBe(422);
      expect(unanswered.body).toContain('Choose a value for Description; nothing was saved.');
      expect(unanswered.body).toContain('aria-describedby="choice-description-error"');
      const bogus = await demo.post(`/products/${id}/merge`, { ...form, choice_description: 'mine' });
      expect(bogus.statusCode).toBe(422);
      expect(Number((await productRow(id)).version)).toBe(2);

      // Olga saves again while demo chooses: the choice was made against version 2, so it is asked again.
      await olga.get(`/products/${id}/edit`);
      await olga.post(
        `/products/${id}`,
        formFields({
          sku,
          name: 'Moving merge desk',
          version: '2',
          description: 'Olga’s words',
          category: 'Desks',
        }),
      );
      const late = await demo.post(`/products/${id}/merge`, { ...form, choice_description: 'yours' });
      expect(late.statusCode).toBe(409);
      expect(late.body).toContain('The product was saved again while you were choosing');
      expect(late.body).toMatch(/id="merge-category"[\s\S]*?Desks<\/td>\s*<td[^>]*>Saved by Olga/);
      expect(hiddenFields(late.body, 'product-merge').currentVersion).toBe('3');
      expect(late.body).not.toContain(' checked');
      expect((await productRow(id)).description).toBe('Olga’s words');

      const settled = await demo.post(`/products/${id}/merge`, {
        ...hiddenFields(late.body, 'product-merge'),
        choice_description: 'yours',
      });
      expect(settled.statusCode).toBe(303);
      expect(await productRow(id)).toMatchObject({
        description: 'Demo’s words',
        category: 'Desks',
        version: 4,
      });
    });

    it('offers every differing field as a choice, with no original, when the version started from was pruned', async () => {
      let now = new Date('2001-01-01T00:00:00.000Z');
      const old = createAppPersistence({ db: current().opened.db, clock: { now: () => now } });
      const product = await createProduct(old, { name: 'Old desk', price: '10.00' });
      now = new Date('2001-01-02T00:00:00.000Z');
      await old.autoSave('Product', { id: product.id, name: 'Older desk' });
      await pruneActivityLog(current().opened.db, new Date('2001-06-01T00:00:00.000Z'));
      const form = {
        sku: String(product.sku),
        name: 'Old desk',
        description: String(product.description),
        price: '12.00',
        quantity: String(product.quantity),
        category: String(product.category),
        active: '1',
        version: '1',
      };
      await demo.get(`/products/${product.id}/edit`);
      const page = await demo.post(`/products/${product.id}`, form);
      expect(page.statusCode).toBe(409);
      expect(page.body).toContain('Version 1 is no longer in the history');
      expect(page.body).toContain('id="conflict-name"');
      expect(page.body).toContain('id="conflict-price"');
      expect(page.body).not.toContain('value="original"');
      const settled = await demo.post(`/products/${product.id}/merge`, {
        ...hiddenFields(page.body, 'product-merge'),
        choice_name: 'theirs',
        choice_price: 'yours',
      });
      expect(settled.statusCode).toBe(303);
      expect(await productRow(product.id)).toMatchObject({ name: 'Older desk', price: '12.00' });
    });

    it('refuses a merge without the CSRF token, and says so when the product was deleted meanwhile', async () => {
      const { id, sku } = await bothEditThenOlgaSaves('Doomed desk', { description: 'Olga’s words' });
      const page = await demo.post(
        `/products/${id}`,
        formFields({ sku, name: 'Doomed desk', version: '1', description: 'Demo’s words' }),
      );
      const form = hiddenFields(page.body, 'product-merge');
      const forged = await demo.post(`/products/${id}/merge`, {
        ...form,
        _csrf: 'forged',
        choice_description: 'yours',
      });
      expect(forged.statusCode).toBe(403);
      await fixture().persistence.autoDelete('Product', id);
      const gone = await demo.post(`/products/${id}/merge`, { ...form, choice_description: 'yours' });
      expect(gone.statusCode).toBe(404);
      const stale = await demo.post(
        `/products/${id}`,
        formFields({ sku, name: 'Doomed desk', version: '1' }),
      );
      expect(stale.statusCode).toBe(404);
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
