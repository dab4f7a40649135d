/**
 * The seed's promises, walked in real Chromium as a user would: a draft survives a closed page,
 * a submit shows in history and the activity log with the user's name, a revert, two users
 * meeting on the conflict page, sign-out removing drafts, and /status telling the truth.
 * Every page is photographed at desktop and phone width.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYNC_PATH } from '../../../packages/steadfast/src/protocol/constants.js';
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
const contexts: BrowserContext[] = [];

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  return context.newPage();
}

async function productIdBySku(sku: string): Promise<number> {
  const row = await running.database.opened.db
    .selectFrom('products')
    .select('id')
    .where('sku', '=', sku)
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

beforeAll(async () => {
  browser = await launchBrowser();
  running = await startApp('sqlite');
  const demo = await running.database.opened.db
    .selectFrom('steadfast_users')
    .select('id')
    .where('username', '=', 'demo')
    .executeTakeFirstOrThrow();
  demoUserId = Number(demo.id);
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await browser?.close();
  await running?.stop();
});

describe('business app in Chromium', () => {
  it('keeps a draft when the page closes before submit, then saves it to history and the activity log', async () => {
    const page = await newPage();
    const consoleLines = collectConsole(page);
    await page.goto(`${running.baseUrl}/login`);
    await screenshotBothWidths(page, 'login');
    await signIn(page, running.baseUrl, 'demo', 'demo');
    await screenshotBothWidths(page, 'products');

    const id = await productIdBySku('FUR-100');
    await page.goto(`${running.baseUrl}/products/${id}/edit`);
    await screenshotBothWidths(page, 'product-edit');
    await page.getByLabel('Name').fill('Oak Desk 180 (draft)');
    await page.getByLabel('Quantity in stock').fill('11');
    await waitUntil(
      'the draft in localStorage',
      async () => (await draftFieldKeys(page, demoUserId, `product-${id}`)).length >= 2,
    );
    expect(consoleLines).toContain('[AUTO-SAVE] Service initialized');

    // The user closes the tab without submitting.
    const context = page.context();
    await page.close({ runBeforeUnload: true });

    const again = await context.newPage();
    await again.goto(`${running.baseUrl}/products/${id}/edit`);
    await expect.poll(() => again.getByLabel('Name').inputValue()).toBe('Oak Desk 180 (draft)');
    expect(await again.getByLabel('Quantity in stock').inputValue()).toBe('11');
    await again.locator(`[data-autosave-notice="product-${id}"]`).waitFor();
    await screenshotBothWidths(again, 'product-edit-draft-restored');

    await again.getByRole('button', { name: 'Save product' }).click();
    await again.waitForURL(`${running.baseUrl}/products/${id}/history`);
    const newest = again.locator('#version-2');
    await expect.poll(() => newest.textContent()).toContain('Demo User (demo)');
    const newestText = (await newest.textContent()) ?? '';
    expect(newestText).toContain('Oak Desk 160');
    expect(newestText).toContain('Oak Desk 180 (draft)');
    await screenshotBothWidths(again, 'product-history');

    // The accepted submit cleared the draft from this browser.
    await waitUntil(
      'the draft to be cleared',
      async () => (await draftFieldKeys(again, demoUserId, `product-${id}`)).length === 0,
    );
    await again.goto(`${running.baseUrl}/products/${id}/edit`);
    expect(await again.locator('[data-autosave-notice]').count()).toBe(0);

    await again.goto(`${running.baseUrl}/activity?model=Product&actor=${demoUserId}`);
    const entry = again.locator('.activity-entry').first();
    const entryText = (await entry.textContent()) ?? '';
    expect(entryText).toContain('Updated');
    expect(entryText).toContain('Demo User (demo)');
    expect(entryText).toContain('Oak Desk 180 (draft)');
    expect(entryText).toMatch(/Quantity\s*7\s*11/);
    await screenshotBothWidths(again, 'activity');
  });

  it('reverts to an earlier version after a confirmation step, logged as revert', async () => {
    const page = await newPage();
    await signIn(page, running.baseUrl, 'demo', 'demo');
    const id = await productIdBySku('ELE-110');
    await page.goto(`${running.baseUrl}/products/${id}/edit`);
    await page.getByLabel('Price (USD)').fill('399.00');
    await page.getByRole('button', { name: 'Save product' }).click();
    await page.waitForURL(`${running.baseUrl}/products/${id}/history`);

    await page
      .locator('#version-1')
      .getByRole('link', { name: /Revert to this version/ })
      .click();
    await page.waitForURL(`${running.baseUrl}/products/${id}/revert/1`);
    await screenshotBothWidths(page, 'product-revert-confirm');
    const unchanged = await running.database.opened.db
      .selectFrom('products')
      .select('price')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(unchanged.price).toBe('399.00');

    await page.getByRole('button', { name: 'Yes, revert to version 1' }).click();
    await page.waitForURL(`${running.baseUrl}/products/${id}/history`);
    const reverted = page.locator('#version-3');
    expect(await reverted.textContent()).toContain('Reverted');
    expect(await reverted.locator('.diff-after').first().textContent()).toBe('379.00');
    const row = await running.database.opened.db
      .selectFrom('products')
      .select('price')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.price).toBe('379.00');
  });

  it('merges the second of two users’ saves: both users’ other changes kept, the field both changed chosen on the merge page', async () => {
    const demoPage = await newPage();
    const olgaPage = await newPage();
    await signIn(demoPage, running.baseUrl, 'demo', 'demo');
    await signIn(olgaPage, running.baseUrl, OTHER_USER.username, OTHER_USER.password);
    const id = await productIdBySku('KIT-140');
    await demoPage.goto(`${running.baseUrl}/products/${id}/edit`);
    await olgaPage.goto(`${running.baseUrl}/products/${id}/edit`);

    await olgaPage.getByLabel('Quantity in stock').fill('30');
    await olgaPage.getByLabel('Category').fill('Kitchen & dining');
    await olgaPage.getByRole('button', { name: 'Save product' }).click();
    await olgaPage.waitForURL(`${running.baseUrl}/products/${id}/history`);

    await demoPage.getByLabel('Quantity in stock').fill('4');
    await demoPage.getByLabel(/^Price/).fill('77.70');
    await demoPage.getByRole('button', { name: 'Save product' }).click();
    await demoPage.getByRole('heading', { name: 'Someone else saved this product first' }).waitFor();
    expect(await demoPage.locator('.notice--warning').textContent()).toContain(
      'Olga Ops (olga) saved version 2',
    );
    // Merged for demo: the price is demo's, the category Olga's, each saying so.
    expect(await demoPage.locator('#merge-price .merge-value').textContent()).toBe('77.70');
    expect(await demoPage.locator('#merge-price .merge-origin').textContent()).toBe('Your change');
    expect(await demoPage.locator('#merge-category .merge-value').textContent()).toBe('Kitchen & dining');
    expect(await demoPage.locator('#merge-category .merge-origin').textContent()).toContain(
      'Saved by Olga Ops (olga) at',
    );
    // The quantity both changed: a group named by its legend, three choices in words.
    const quantity = demoPage.getByRole('group', { name: /^Quantity: you both changed it/ });
    expect(await quantity.getByRole('radio').count()).toBe(3);
    expect(await quantity.locator('.compare-yours').textContent()).toBe('4');
    expect(await quantity.locator('.compare-theirs').textContent()).toBe('30');
    expect(await quantity.locator('.compare-original').textContent()).toMatch(/^\d+$/);
    await screenshotBothWidths(demoPage, 'product-conflict');
    const stored = await running.database.opened.db
      .selectFrom('products')
      .select(['quantity', 'price'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(Number(stored.quantity)).toBe(30);
    expect(stored.price).not.toBe('77.70');

    // By keyboard: arrows move between the choices, Tab leaves the group for the save button.
    await quantity.getByRole('radio', { name: /^Theirs/ }).focus();
    await demoPage.keyboard.press('ArrowUp');
    expect(await quantity.getByRole('radio', { name: /^Yours/ }).isChecked()).toBe(true);
    await demoPage.keyboard.press('Tab');
    expect(await demoPage.evaluate(() => document.activeElement?.textContent)).toBe(
      'Save the merged product',
    );
    await demoPage.keyboard.press('Enter');
    await demoPage.waitForURL(`${running.baseUrl}/products/${id}/history`);
    expect(await demoPage.locator('.notice--success').textContent()).toContain('Your choice: Quantity.');
    const saved = await running.database.opened.db
      .selectFrom('products')
      .select(['quantity', 'price', 'category'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(saved).toMatchObject({ price: '77.70', category: 'Kitchen & dining' });
    expect(Number(saved.quantity)).toBe(4);
  });

  it('removes the drafts from the browser on sign-out', async () => {
    const page = await newPage();
    await signIn(page, running.baseUrl, 'demo', 'demo');
    const id = await productIdBySku('STA-120');
    // The draft must never reach the server: with the app's 2 s debounce a loaded machine can send
    // it before the sign-out, and signing back in would then restore the server's copy (a fetch
    // after load, racing the check below). What sign-out removes is this browser's copy.
    await page.route(`**${SYNC_PATH}`, (route) => route.abort());
    await page.goto(`${running.baseUrl}/products/${id}/edit`);
    await page.getByLabel('Category').fill('Office supplies');
    await waitUntil(
      'the draft in localStorage',
      async () => (await draftFieldKeys(page, demoUserId, `product-${id}`)).length > 0,
    );

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${running.baseUrl}/login`);
    const remaining = await page.evaluate(
      (prefix) => Object.keys(window.localStorage).filter((key) => key.startsWith(prefix)),
      `steadfast:v1:${demoUserId}:`,
    );
    expect(remaining.filter((key) => key.includes(':f:') || key.includes(':m:'))).toEqual([]);

    // Signing back in finds the saved record, not the draft.
    await signIn(page, running.baseUrl, 'demo', 'demo');
    await page.goto(`${running.baseUrl}/products/${id}/edit`);
    expect(await page.getByLabel('Category').inputValue()).toBe('Stationery');
  });

  it('shows the settings page and saves a preference', async () => {
    const page = await newPage();
    await signIn(page, running.baseUrl, 'demo', 'demo');
    await page.goto(`${running.baseUrl}/settings`);
    await screenshotBothWidths(page, 'settings');
    await page.getByLabel('Products per page').selectOption('10');
    await page.getByRole('button', { name: 'Save preferences' }).click();
    // The form posts to /settings/preferences and comes back to /settings: waitForURL on the URL the
    // page already has returns at once, leaving only the click's implicit navigation wait between the
    // POST and the goto below (which would cancel it). Wait for the server's answer itself.
    await page.getByText('Your preferences are saved.').waitFor();
    await page.waitForURL(`${running.baseUrl}/settings`);
    await page.goto(`${running.baseUrl}/products`);
    expect(await page.locator('.product-name').count()).toBe(10);
  });

  it('shows every component active on /status, the browser service reporting itself', async () => {
    const page = await newPage();
    await signIn(page, running.baseUrl, 'demo', 'demo');
    await page.goto(`${running.baseUrl}/status`);
    for (const id of ['database', 'migrations', 'persistence', 'change-tracking', 'sync-endpoint']) {
      expect(await page.locator(`[data-component="${id}"]`).getAttribute('data-state'), id).toBe('active');
    }
    // Filled in by the service running in this page, not by the server.
    await page.locator('#browser-service-state[data-autosave-state]').waitFor();
    expect(await page.locator('.client-state--off').isHidden()).toBe(true);
    expect(await page.locator('.client-state--on').isVisible()).toBe(true);
    await screenshotBothWidths(page, 'status');
  });
});

describe('/status in Chromium with the database down', () => {
  let downApp: RunningApp;

  beforeAll(async () => {
    downApp = await startApp('sqlite', { seed: false });
    await downApp.database.opened.close();
  });
  afterAll(async () => {
    await downApp?.stop();
  });

  it('shows the database as down', async () => {
    const page = await newPage();
    const response = await page.goto(`${downApp.baseUrl}/status`);
    expect(response?.status()).toBe(503);
    expect(await page.locator('[data-component="database"]').getAttribute('data-state')).toBe('down');
    expect(await page.locator('#status-summary').textContent()).toContain('Some components are down.');
    await screenshotBothWidths(page, 'status-database-down');
  });
});
