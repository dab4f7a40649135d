/**
 * A stale draft merged in the browser (DESIGN.md "Stale drafts: three-way merge"), on the demo in
 * Chromium: the demo user edits a product while it cannot sync (the tab then closed), Olga saves
 * the same product meanwhile, and the demo user comes back to a form merged field by field against
 * the version the draft was made at.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_PATH, SYNC_PATH } from '../../../packages/steadfast/src/protocol/constants.js';
import { collectConsole, launchBrowser, waitUntil } from '../../support/browser.js';
import {
  draftFieldKeys,
  OTHER_USER,
  type RunningApp,
  screenshotBothWidths,
  signIn,
  startApp,
} from './app-server.js';

let browser: Browser;
let running: RunningApp;
let demoUserId: number;
let olgaUserId: number;
const contexts: BrowserContext[] = [];

async function userId(username: string): Promise<number> {
  const row = await running.database.opened.db
    .selectFrom('steadfast_users')
    .select('id')
    .where('username', '=', username)
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

async function product(sku: string) {
  const row = await running.database.opened.db
    .selectFrom('products')
    .select(['id', 'name', 'price', 'description', 'quantity', 'version'])
    .where('sku', '=', sku)
    .executeTakeFirstOrThrow();
  return { ...row, id: Number(row.id), version: Number(row.version) };
}

/** A signed-in page whose drafts never reach the server: they stay on this device only. */
async function offlineDemoPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  await context.route(`**${SYNC_PATH}`, (route) => route.abort());
  const page = await context.newPage();
  await signIn(page, running.baseUrl, 'demo', 'demo');
  return page;
}

/** The demo user edits a product, and closes the tab before the draft could sync. */
async function editAndClose(page: Page, id: number, edits: Record<string, string>): Promise<Page> {
  await page.goto(`${running.baseUrl}/products/${id}/edit`);
  for (const [label, value] of Object.entries(edits)) await page.getByLabel(label).fill(value);
  await waitUntil(
    'the draft in localStorage',
    async () => (await draftFieldKeys(page, demoUserId, `product-${id}`)).length >= Object.keys(edits).length,
  );
  const context = page.context();
  await page.close({ runBeforeUnload: true });
  return context.newPage();
}

/** Olga saves the same product from her own browser. */
async function olgaSaves(id: number, edits: Record<string, string>): Promise<void> {
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  await signIn(page, running.baseUrl, OTHER_USER.username, OTHER_USER.password);
  await page.goto(`${running.baseUrl}/products/${id}/edit`);
  for (const [label, value] of Object.entries(edits)) await page.getByLabel(label).fill(value);
  await page.getByRole('button', { name: 'Save product' }).click();
  await page.waitForURL(`${running.baseUrl}/products/${id}/history`);
}

beforeAll(async () => {
  browser = await launchBrowser();
  running = await startApp('sqlite');
  demoUserId = await userId('demo');
  olgaUserId = await userId(OTHER_USER.username);
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await browser?.close();
  await running?.stop();
});

describe('a stale draft in Chromium', () => {
  it('is merged: the other user’s name, my price, and the description both changed chosen, then saved with no lost update', async () => {
    const before = await product('FUR-101');
    const { id } = before;
    const page = await editAndClose(await offlineDemoPage(), id, {
      'Price (USD)': '123.45',
      Description: 'Description by demo',
    });
    await olgaSaves(id, { Name: 'Name by Olga', Description: 'Description by Olga' });

    const consoleLines = collectConsole(page);
    await page.goto(`${running.baseUrl}/products/${id}/edit`);
    const notice = page.locator(`[data-autosave-notice="product-${id}"]`);
    const conflict = page.getByRole('group', { name: /^description, changed by you and by/ });
    await conflict.waitFor();
    // Merged at once: Olga's name stays, the demo user's price comes back from the draft.
    expect(await page.getByLabel('Name').inputValue()).toBe('Name by Olga');
    expect(await page.getByLabel('Price (USD)').inputValue()).toBe('123.45');
    // The field both changed keeps the record's value until the user chooses.
    expect(await page.getByLabel('Description').inputValue()).toBe('Description by Olga');
    const text = (await notice.textContent()) ?? '';
    expect(text).toContain('Kept from your draft: price.');
    expect(text).toMatch(new RegExp(`From the save by user ${olgaUserId} at \\d\\d:\\d\\d: name\\.`));
    expect(await notice.getAttribute('role')).toBe('status');
    expect(await conflict.getByRole('button').allTextContents()).toEqual([
      'Yours: Description by demo',
      'Theirs: Description by Olga',
      `Original: ${before.description}`,
    ]);
    expect(await conflict.locator('legend').textContent()).toMatch(
      new RegExp(`^description, changed by you and by user ${olgaUserId} at \\d\\d:\\d\\d:$`),
    );
    await screenshotBothWidths(page, 'product-edit-stale-draft-conflict');

    // No submit while the conflict is open: the user is told, and taken to the choice.
    await page.getByRole('button', { name: 'Save product' }).click();
    const alert = notice.getByRole('alert');
    expect(await alert.textContent()).toContain('choose a value for each field you both changed');
    expect(page.url()).toBe(`${running.baseUrl}/products/${id}/edit`);
    expect((await product('FUR-101')).version).toBe(before.version + 1);
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Yours: Description by demo');

    // By keyboard: Enter on the focused choice settles it.
    await page.keyboard.press('Enter');
    expect(await page.getByLabel('Description').inputValue()).toBe('Description by demo');
    await expect.poll(() => notice.getAttribute('data-autosave-stale')).toBe('merged');
    expect(await notice.getByRole('group').count()).toBe(0);
    // The draft now stands on the current version: a reload restores it with no question.
    await waitUntil('the merged draft in localStorage', () =>
      page.evaluate(
        ({ key, version }) =>
          Object.entries(localStorage).some(
            ([name, value]) => name.endsWith(`:m:${key}`) && JSON.parse(value).v === version,
          ),
        { key: `product-${id}`, version: before.version + 1 },
      ),
    );

    await page.getByRole('button', { name: 'Save product' }).click();
    await page.waitForURL(`${running.baseUrl}/products/${id}/history`);
    const saved = await product('FUR-101');
    expect(saved).toMatchObject({
      name: 'Name by Olga',
      price: '123.45',
      description: 'Description by demo',
      version: before.version + 2,
    });
    const olgaVersion = (await page.locator(`#version-${before.version + 1}`).textContent()) ?? '';
    expect(olgaVersion).toContain('Olga Ops (olga)');
    expect(olgaVersion).toContain('Name by Olga');
    expect(olgaVersion).toContain('Description by Olga');
    const demoVersion = (await page.locator(`#version-${before.version + 2}`).textContent()) ?? '';
    expect(demoVersion).toContain('Demo User (demo)');
    expect(demoVersion).toContain('123.45');
    expect(demoVersion).toContain('Description by demo');
    // Olga's name was never written over: the demo user's save changed only price and description.
    expect(demoVersion).not.toContain('Name by Olga');
    expect(consoleLines.filter((line) => line.startsWith('pageerror'))).toEqual([]);
  });

  it('with no conflict is applied with no question, and the notice says whose each field is', async () => {
    const before = await product('FUR-102');
    const { id } = before;
    const page = await editAndClose(await offlineDemoPage(), id, { 'Price (USD)': '99.90' });
    await olgaSaves(id, { Name: 'Renamed by Olga', 'Quantity in stock': '42' });

    await page.goto(`${running.baseUrl}/products/${id}/edit`);
    const notice = page.locator(`[data-autosave-notice="product-${id}"][data-autosave-stale="merged"]`);
    await notice.waitFor();
    expect(await page.getByLabel('Price (USD)').inputValue()).toBe('99.90');
    expect(await page.getByLabel('Name').inputValue()).toBe('Renamed by Olga');
    expect(await page.getByLabel('Quantity in stock').inputValue()).toBe('42');
    const text = (await notice.textContent()) ?? '';
    expect(text).toContain('merged with a newer save of this record');
    expect(text).toContain('Kept from your draft: price.');
    expect(text).toMatch(
      new RegExp(`From the save by user ${olgaUserId} at \\d\\d:\\d\\d: name, quantity\\.`),
    );
    expect(await notice.getByRole('button').allTextContents()).toEqual(['Discard']);
    await screenshotBothWidths(page, 'product-edit-stale-draft-merged');

    await page.getByRole('button', { name: 'Save product' }).click();
    await page.waitForURL(`${running.baseUrl}/products/${id}/history`);
    const saved = await product('FUR-102');
    expect(saved).toMatchObject({ name: 'Renamed by Olga', price: '99.90', version: before.version + 2 });
    expect(Number(saved.quantity)).toBe(42);
  });

  it('discarded after the merge returns to the record as saved', async () => {
    const before = await product('FUR-103');
    const { id } = before;
    const page = await editAndClose(await offlineDemoPage(), id, { 'Price (USD)': '10.00' });
    await olgaSaves(id, { Name: 'Olga’s name' });

    await page.goto(`${running.baseUrl}/products/${id}/edit`);
    const notice = page.locator(`[data-autosave-notice="product-${id}"][data-autosave-stale="merged"]`);
    await notice.waitFor();
    expect(await page.getByLabel('Price (USD)').inputValue()).toBe('10.00');
    await notice.getByRole('button', { name: 'Discard' }).click();
    expect(await page.getByLabel('Price (USD)').inputValue()).toBe(before.price);
    expect(await page.getByLabel('Name').inputValue()).toBe('Olga’s name');
    await waitUntil(
      'the draft to be removed',
      async () => (await draftFieldKeys(page, demoUserId, `product-${id}`)).length === 0,
    );
  });

  it('is offered whole, as before, when its base cannot be read', async () => {
    const before = await product('FUR-104');
    const { id } = before;
    const page = await editAndClose(await offlineDemoPage(), id, { 'Price (USD)': '11.00' });
    await olgaSaves(id, { Name: 'Another name by Olga' });

    await page.route(`**${BASE_PATH}**`, (route) => route.abort());
    await page.goto(`${running.baseUrl}/products/${id}/edit`);
    const notice = page.locator(`[data-autosave-notice="product-${id}"][data-autosave-stale="true"]`);
    await notice.waitFor();
    expect(await notice.textContent()).toContain('Fields that differ: price');
    expect(await page.getByLabel('Price (USD)').inputValue()).toBe(before.price);
    await notice.getByRole('button', { name: 'Restore my changes' }).click();
    expect(await page.getByLabel('Price (USD)').inputValue()).toBe('11.00');
  });
});
