/**
 * An editor with its own model (CodeMirror 6, apps/codemirror-app.js) saved through the service's
 * state as the README shows: what the user typed is in the editor's document again after a reload,
 * and another tab's editor follows. Read from CodeMirror's own state, not from the DOM.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AutosaveTestServer } from '../../support/autosave-test-server.js';
import { launchBrowser, waitUntil } from '../../support/browser.js';
import { buildStatePages, type StatePages } from './state-pages.js';

let browser: Browser;
let server: AutosaveTestServer;
let pages: StatePages;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  pages = await buildStatePages();
  server = await AutosaveTestServer.start({ files: pages.files });
  browser = await launchBrowser();
  server.pages.set('/editor', {
    body: '<div id="editor"></div><script type="module" src="/codemirror.js"></script>',
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  pages?.dispose();
});

afterEach(async () => {
  for (const context of contexts.splice(0)) await context.close();
});

async function openEditor(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.goto(server.url('/editor'));
  await page.waitForSelector('.cm-content');
  return page;
}

/** The text in CodeMirror's own document. */
const documentOf = (page: Page) =>
  page.evaluate(() =>
    (window as unknown as { editor: { state: { doc: { toString(): string } } } }).editor.state.doc.toString(),
  );

describe('a CodeMirror 6 editor saved with saveState and subscribe', () => {
  it('has its content back after a reload, and shows it in another tab', async () => {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await openEditor(context);
    const other = await openEditor(context);
    await page.click('.cm-content');
    await page.keyboard.type('Release 2.1');
    await page.keyboard.press('Enter');
    await page.keyboard.type('- faster restore');
    expect(await documentOf(page)).toBe('Release 2.1\n- faster restore');

    await waitUntil(
      'the other tab’s editor',
      async () => (await documentOf(other)) === 'Release 2.1\n- faster restore',
    );

    await page.reload();
    await page.waitForSelector('.cm-content');
    await waitUntil(
      'the content after a reload',
      async () => (await documentOf(page)) === 'Release 2.1\n- faster restore',
    );
    expect(await page.textContent('.cm-content')).toContain('- faster restore');
    // Editing goes on from the restored text.
    await page.click('.cm-content');
    await page.keyboard.press('Control+End');
    await page.keyboard.type('!');
    expect(await documentOf(page)).toBe('Release 2.1\n- faster restore!');
  });
});
