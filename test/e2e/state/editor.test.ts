/**
 * An editor with its own model (CodeMirror 6, apps/codemirror-app.js) saved through the service's
 * state as the README shows: what the user typed is in the editor's document again after a reload,
 * and another tab's editor follows. Read from CodeMirror's own state, not from the DOM.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { waitUntil } from '../../support/browser.js';
import { useBrowserSuite } from '../../support/browser-suite.js';
import { buildStatePages } from './state-pages.js';

const suite = useBrowserSuite({
  build: buildStatePages,
  setup: (server) =>
    server.pages.set('/editor', {
      body: '<div id="editor"></div><script type="module" src="/codemirror.js"></script>',
    }),
});

async function openEditor(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.goto(suite.server.url('/editor'));
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
    const context = await suite.newContext();
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
