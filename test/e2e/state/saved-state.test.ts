/**
 * `useSavedState` from `steadfast/react` on React 18 and 19 pages (state-pages.ts): a value set in
 * one tab is seen in a second tab of the same browser and after a reload, a list of rows the user
 * grew comes back with its rows, and a server-rendered page hydrates with `initial` and then shows
 * the saved value, with no hydration warning; an app's own service given through
 * AutoSaveServiceContext is used on a page without the script. The page's form opts out of form drafts, and every
 * value is read from what React renders from the hook's state.
 */
import type { BrowserContext, ConsoleMessage, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { waitUntil } from '../../support/browser.js';
import { useBrowserSuite } from '../../support/browser-suite.js';
import { buildStatePages, REACT_VERSIONS, type StatePages } from './state-pages.js';

interface InvoiceState {
  readonly note: string;
  readonly rows: readonly { readonly item: string; readonly qty: string }[];
}

const ROWS = [
  { item: 'Desk', qty: '2' },
  { item: 'Lamp', qty: '5' },
  { item: 'Chair', qty: '12' },
];

const invoicePage = (version: string, mode: string, html = '') =>
  `<div id="root" data-mode="${mode}">${html}</div><script type="module" src="/invoice${version}.js"></script>`;

const suite = useBrowserSuite<StatePages>({
  build: buildStatePages,
  setup: (server, pages) => {
    for (const version of REACT_VERSIONS) {
      server.pages.set(`/invoice${version}`, { body: invoicePage(version, 'client') });
      server.pages.set(`/invoice${version}-ssr`, {
        body: invoicePage(version, 'ssr', pages?.serverHtml[version]),
      });
      server.pages.set(`/invoice${version}-module`, {
        body: invoicePage(version, 'module'),
        loadsService: false,
      });
    }
  },
});

const newContext = () => suite.newContext();

async function open(context: BrowserContext, path: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(suite.server.url(path));
  await page.waitForSelector('#state');
  return page;
}

/** What React renders from the hook's state. */
async function stateOf(page: Page): Promise<InvoiceState> {
  return JSON.parse((await page.textContent('#state')) ?? 'null') as InvoiceState;
}

async function waitForState(page: Page, expected: InvoiceState, what: string): Promise<void> {
  await waitUntil(what, async () => JSON.stringify(await stateOf(page)) === JSON.stringify(expected));
}

for (const version of REACT_VERSIONS) {
  describe(`useSavedState on React ${version}`, () => {
    it('shows a value set in one tab in a second tab at once, and after a reload', async () => {
      const context = await newContext();
      const first = await open(context, `/invoice${version}`);
      const second = await open(context, `/invoice${version}`);
      expect(await stateOf(second)).toEqual({ note: '', rows: [] });

      await first.fill('#note', 'Ship before Friday');
      expect(await stateOf(first)).toEqual({ note: 'Ship before Friday', rows: [] });
      await waitForState(second, { note: 'Ship before Friday', rows: [] }, 'the note in the second tab');
      expect(await second.inputValue('#note')).toBe('Ship before Friday');

      // And back the other way, over the value the second tab was told.
      await second.fill('#note', 'Ship on Monday');
      await waitForState(first, { note: 'Ship on Monday', rows: [] }, 'the note back in the first tab');

      await first.reload();
      await waitForState(first, { note: 'Ship on Monday', rows: [] }, 'the note after a reload');
      expect(await first.inputValue('#note')).toBe('Ship on Monday');
    });

    it('brings back a list the user grew: three rows added and typed into, after a reload', async () => {
      const context = await newContext();
      const page = await open(context, `/invoice${version}`);
      for (const [index, row] of ROWS.entries()) {
        await page.click('#add-row');
        await page.fill(`.row:nth-of-type(${index + 1}) .item`, row.item);
        await page.fill(`.row:nth-of-type(${index + 1}) .qty`, row.qty);
      }
      expect(await stateOf(page)).toEqual({ note: '', rows: ROWS });

      await page.reload();
      await waitForState(page, { note: '', rows: ROWS }, 'the rows after a reload');
      expect(await page.locator('.row').count()).toBe(3);
      expect(await page.inputValue('.row:nth-of-type(3) .item')).toBe('Chair');
      // The setter builds on the restored list: a fourth row joins the three.
      await page.click('#add-row');
      await waitForState(page, { note: '', rows: [...ROWS, { item: '', qty: '1' }] }, 'a fourth row');
    });

    it('hydrates a server-rendered page with `initial`, then shows the saved value, with no hydration warning', async () => {
      const context = await newContext();
      const page = await open(context, `/invoice${version}-ssr`);
      await page.fill('#note', 'Saved before the reload');
      await page.click('#add-row');
      await page.fill('.row .item', 'Desk');
      const problems: string[] = [];
      page.on('console', (message: ConsoleMessage) => {
        if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
      });
      page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));

      await page.reload();
      await waitForState(
        page,
        { note: 'Saved before the reload', rows: [{ item: 'Desk', qty: '1' }] },
        'the saved state after hydration',
      );
      expect(problems).toEqual([]);
      // The server rendered the initial values (it has no service).
      expect(suite.built?.serverHtml[version]).toContain(
        '{&quot;note&quot;:&quot;&quot;,&quot;rows&quot;:[]}',
      );
    });

    it('uses the service given by AutoSaveServiceContext: an app’s own, from steadfast/client, with no script on the page', async () => {
      const context = await newContext();
      const page = await open(context, `/invoice${version}-module`);
      expect(await page.evaluate(() => window.autoSaveService)).toBeUndefined();
      await page.fill('#note', 'Kept by the app’s own service');
      const second = await open(context, `/invoice${version}-module`);
      await waitForState(
        second,
        { note: 'Kept by the app’s own service', rows: [] },
        'the note in a second tab',
      );
      await page.reload();
      await waitForState(
        page,
        { note: 'Kept by the app’s own service', rows: [] },
        'the note after a reload',
      );
    });
  });
}
