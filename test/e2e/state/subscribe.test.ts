/**
 * `autoSaveService.subscribe(key, listener)` on plain pages: the listener hears `saveState` in its
 * own tab and in another, the value stored before the service started, a value restored from the
 * server on a device that has none, and null on sign-out; never again once unsubscribed.
 */
import type { Page } from 'playwright-core';
import { beforeEach, describe, expect, it } from 'vitest';
import { waitUntil } from '../../support/browser.js';
import { useBrowserSuite } from '../../support/browser-suite.js';
import { NO_TIMED_SEND, openPage } from '../client/fixtures.js';

declare global {
  interface Window {
    /** What the page's listener heard, in order. */
    heard: unknown[];
    /** getState before the service started. */
    beforeStart: unknown;
    unsubscribe: () => void;
  }
}

/** Subscribes from an inline script: after the service is created, before DOMContentLoaded starts it. */
const LISTENING_PAGE = `<script>
  window.heard = [];
  window.beforeStart = autoSaveService.getState('sidebar', 'nothing yet');
  window.unsubscribe = autoSaveService.subscribe('sidebar', (value) => window.heard.push(value));
</script>`;

const suite = useBrowserSuite({
  setup: (server) => server.pages.set('/listening', { body: LISTENING_PAGE, serviceOptions: NO_TIMED_SEND }),
});
let user = '';
let userCount = 0;

beforeEach(() => {
  userCount += 1;
  user = `subscriber-${userCount}`;
});

const signedIn = () => suite.newContext(user);

const heard = (page: Page) => page.evaluate(() => window.heard);

describe('subscribe', () => {
  it('hears saveState in its own tab and in another tab, until unsubscribed', async () => {
    const context = await signedIn();
    const first = await openPage(context, suite.server, '/listening');
    const second = await openPage(context, suite.server, '/listening');

    await first.evaluate(() => window.autoSaveService?.saveState('sidebar', { open: true }));
    expect(await heard(first)).toEqual([{ open: true }]);
    await waitUntil('the other tab to hear it', async () => (await heard(second)).length === 1);
    expect(await heard(second)).toEqual([{ open: true }]);
    expect(await second.evaluate(() => window.autoSaveService?.getState('sidebar', null))).toEqual({
      open: true,
    });

    // Another key is not this listener's business.
    await second.evaluate(() => window.autoSaveService?.saveState('filters', ['mine']));
    await second.evaluate(() => window.autoSaveService?.saveState('sidebar', { open: false }));
    await waitUntil('the first tab to hear the second', async () => (await heard(first)).length === 2);
    expect(await heard(first)).toEqual([{ open: true }, { open: false }]);

    await first.evaluate(() => window.unsubscribe());
    await first.evaluate(() => window.autoSaveService?.saveState('sidebar', { open: true, width: 300 }));
    await second.evaluate(() => window.autoSaveService?.saveState('sidebar', { open: true, width: 200 }));
    await waitUntil('the second tab’s own value', async () => (await heard(second)).length === 4);
    await first.evaluate(() => new Promise((resolve) => setTimeout(resolve, 100)));
    expect(await heard(first)).toEqual([{ open: true }, { open: false }]);
  });

  it('tells a listener added before the service started the value stored before', async () => {
    const context = await signedIn();
    const first = await openPage(context, suite.server, '/listening');
    await first.evaluate(() => window.autoSaveService?.saveState('sidebar', { open: true }));
    await first.close();

    const page = await openPage(context, suite.server, '/listening');
    expect(await page.evaluate(() => window.beforeStart)).toBe('nothing yet');
    expect(await heard(page)).toEqual([{ open: true }]);
  });

  it('restores the value from the server on a device that has none, and tells the listener', async () => {
    const laptop = await openPage(await signedIn(), suite.server, '/listening');
    await laptop.evaluate(() => window.autoSaveService?.saveState('sidebar', { open: true, width: 280 }));
    const sent = await laptop.evaluate(() => window.autoSaveService?.syncWithBackend());
    expect(sent?.result).toBe('synced');

    const phone = await openPage(await signedIn(), suite.server, '/listening');
    await waitUntil('the server’s value', async () => (await heard(phone)).length === 1);
    expect(await heard(phone)).toEqual([{ open: true, width: 280 }]);
    // Kept on this device from then on.
    expect(await phone.evaluate(() => window.autoSaveService?.getState('sidebar', null))).toEqual({
      open: true,
      width: 280,
    });
  });

  it('tells null on sign-out, in this tab and in another', async () => {
    const context = await signedIn();
    const first = await openPage(context, suite.server, '/listening');
    const second = await openPage(context, suite.server, '/listening');
    await first.evaluate(() => window.autoSaveService?.saveState('sidebar', { open: true }));
    await waitUntil('the other tab to hear it', async () => (await heard(second)).length === 1);

    await first.evaluate(() => window.autoSaveService?.signOut());
    expect(await heard(first)).toEqual([{ open: true }, null]);
    await waitUntil('the other tab to hear the sign-out', async () => (await heard(second)).at(-1) === null);
  });
});
