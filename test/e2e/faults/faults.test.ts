/**
 * Browser-side faults in Chromium against the real app process: the server killed while the user
 * types and brought back later, the network dropped, the tab closed without unload, the renderer
 * crashed. Nothing typed is lost (the server ends with the typed value) and nothing is applied
 * twice (one `sync` log entry per applied mutation id; records, drafts and the log agree).
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConsistency } from '../../crash/consistency.js';
import { launchBrowser, waitUntil } from '../../support/browser.js';
import { createTestDatabase, type TestDatabase } from '../../support/databases.js';
import { ServerProcess } from '../../support/server-process.js';

let database: TestDatabase & { drop(): Promise<void> };
let server: ServerProcess;
let browser: Browser;
let demoId: number;

beforeAll(async () => {
  database = await createTestDatabase('sqlite');
  server = await ServerProcess.start({ databaseUrl: database.url });
  browser = await launchBrowser();
  const demo = await database.opened.db
    .selectFrom('steadfast_users')
    .select('id')
    .where('username', '=', 'demo')
    .executeTakeFirstOrThrow();
  demoId = Number(demo.id);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.kill();
  await database?.drop();
});

async function signedInContext(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.baseUrl}/login`);
  await page.getByLabel('Username').fill('demo');
  await page.getByLabel('Password').fill('demo');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.baseUrl}/products`);
  return { context, page };
}

async function serverDraftName(key: string): Promise<string | undefined> {
  const row = await database.opened.db
    .selectFrom('steadfast_drafts')
    .select('data')
    .where('user_id', '=', String(demoId))
    .where('key', '=', key)
    .executeTakeFirst();
  return row ? (JSON.parse(row.data) as { name?: string }).name : undefined;
}

/** Each applied mutation logged once: sync entries of the user = sum of their clients' last ids. */
async function expectAppliedOnce(): Promise<void> {
  const db = database.opened.db;
  const entries = await db
    .selectFrom('steadfast_activity_log')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('model', '=', 'Draft')
    .where('action', '=', 'sync')
    .where('actor', '=', String(demoId))
    .executeTakeFirstOrThrow();
  const clients = await db
    .selectFrom('steadfast_sync_clients')
    .select('last_mutation_id')
    .where('user_id', '=', String(demoId))
    .execute();
  const applied = clients.reduce((sum, row) => sum + Number(row.last_mutation_id), 0);
  expect(Number(entries.n)).toBe(applied);
  const report = await checkConsistency(db, 'sqlite');
  expect(report.problems).toEqual([]);
}

const syncNow = (page: Page) =>
  page.evaluate(() =>
    (window as unknown as { autoSaveService: { syncWithBackend(): Promise<unknown> } }).autoSaveService
      .syncWithBackend()
      .catch(() => undefined),
  );

describe('browser-side faults', { timeout: 120_000 }, () => {
  it('keeps what was typed while the server was down and delivers it once it is back', async () => {
    const { context, page } = await signedInContext();
    await page.goto(`${server.baseUrl}/products/1/edit`);
    await page.getByLabel('Name').fill('Before the outage');
    await waitUntil(
      'the first draft on the server',
      async () => (await serverDraftName('product-1')) === 'Before the outage',
      20_000,
    );
    await server.kill();
    await page.getByLabel('Name').fill('Typed while the server was down');
    await page.waitForTimeout(2500);
    await syncNow(page);
    await page.getByLabel('Name').fill('Typed while the server was down, more');
    await page.waitForTimeout(2500);
    await syncNow(page);
    expect(await serverDraftName('product-1')).toBe('Before the outage');
    // "A minute later": the server comes back; the service's retry (here asked for at once) delivers.
    await server.start();
    await waitUntil(
      'the typed text on the restarted server',
      async () => {
        await syncNow(page);
        return (await serverDraftName('product-1')) === 'Typed while the server was down, more';
      },
      30_000,
    );
    await expectAppliedOnce();
    await context.close();
  });

  it('keeps what was typed offline and syncs it when the network returns', async () => {
    const { context, page } = await signedInContext();
    await page.goto(`${server.baseUrl}/products/2/edit`);
    await context.setOffline(true);
    await page.getByLabel('Name').fill('Typed offline');
    await page.waitForTimeout(2500);
    await syncNow(page);
    expect(await serverDraftName('product-2')).not.toBe('Typed offline');
    await context.setOffline(false);
    await waitUntil(
      'the offline text on the server',
      async () => (await serverDraftName('product-2')) === 'Typed offline',
      30_000,
    );
    await expectAppliedOnce();
    await context.close();
  });

  it('restores and delivers what was typed in a tab closed without unload', async () => {
    const { context, page } = await signedInContext();
    await page.goto(`${server.baseUrl}/products/3/edit`);
    await page.getByLabel('Name').fill('Typed before the tab closed');
    await page.waitForTimeout(300);
    await page.close({ runBeforeUnload: false });
    const again = await context.newPage();
    await again.goto(`${server.baseUrl}/products/3/edit`);
    await expect
      .poll(() => again.getByLabel('Name').inputValue(), { timeout: 10_000 })
      .toBe('Typed before the tab closed');
    await waitUntil(
      'the closed tab’s text on the server',
      async () => (await serverDraftName('product-3')) === 'Typed before the tab closed',
      30_000,
    );
    await expectAppliedOnce();
    await context.close();
  });

  it('restores and delivers what was typed before the renderer crashed', async () => {
    const { context, page } = await signedInContext();
    await page.goto(`${server.baseUrl}/products/4/edit`);
    await page.getByLabel('Name').fill('Typed before the crash');
    await waitUntil('the local draft', () =>
      page.evaluate(() => Object.keys(window.localStorage).some((key) => key.includes('product-4'))),
    );
    const crashed = new Promise((resolve) => page.once('crash', resolve));
    const cdp = await context.newCDPSession(page);
    void cdp.send('Page.crash').catch(() => undefined);
    await crashed;
    const again = await context.newPage();
    await again.goto(`${server.baseUrl}/products/4/edit`);
    await expect
      .poll(() => again.getByLabel('Name').inputValue(), { timeout: 10_000 })
      .toBe('Typed before the crash');
    await waitUntil(
      'the crashed tab’s text on the server',
      async () => (await serverDraftName('product-4')) === 'Typed before the crash',
      30_000,
    );
    await expectAppliedOnce();
    await context.close();
  });
});
