/**
 * Syncing in real Chromium: nothing lost when the page closes or crashes, offline and server
 * outages, one sender for many tabs, sign-out across tabs, invalid changes parked, and the
 * console lines the contract fixes.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SIGNOUT_KEY } from '../../../packages/steadfast/src/client/local-store.js';
import { collectConsole, launchBrowser, waitUntil } from '../../support/browser.js';
import { useBrowserSuite } from '../../support/browser-suite.js';
import {
  localKeys,
  NO_TIMED_SEND,
  openPage,
  recordStatuses,
  registerPages,
  signedInContext,
  statusOf,
} from './fixtures.js';

const suite = useBrowserSuite({ setup: (server) => registerPages(server) });
let context: BrowserContext;
let user = '';
let userCount = 0;

beforeEach(async () => {
  // A user per test: the server's drafts and mutation counters never leak between tests.
  userCount += 1;
  user = `user-${userCount}`;
  context = await suite.newContext(user);
});

afterEach(async () => {
  // Closed before the server restarts, so no page of this test reaches the next test's server.
  await context.close();
  suite.server.unavailable = false;
  suite.server.rejectKeys.clear();
  await suite.server.restart();
});

function appliedFor(key: string) {
  return suite.server.applied.filter((entry) => entry.user === user && entry.change.key === key);
}

/** Every applied mutation id of this user's clients is used once, in order, with no gap. */
function expectContiguousIds(): void {
  const byClient = new Map<string, number[]>();
  for (const entry of suite.server.applied.filter((candidate) => candidate.user === user)) {
    byClient.set(entry.clientId, [...(byClient.get(entry.clientId) ?? []), entry.change.mutationId]);
  }
  for (const ids of byClient.values()) expect(ids).toEqual(ids.map((_, index) => index + 1));
}

async function titleOnServer(): Promise<unknown> {
  const draft = suite.server.draftsOf(user).get('product-42');
  return draft && typeof draft.data === 'object' && draft.data !== null && !Array.isArray(draft.data)
    ? draft.data.title
    : undefined;
}

describe('closing and crashing', () => {
  it('keeps what was typed 50 ms before the page closed without unload handlers, and syncs it on the next start', async () => {
    const page = await openPage(context, suite.server, '/product');
    await page.click('[name=title]');
    await page.keyboard.type(' for the office');
    await page.waitForTimeout(50);
    await page.close({ runBeforeUnload: false });
    const next = await openPage(context, suite.server, '/product');
    await next.waitForSelector('[data-autosave-notice]');
    expect(await next.inputValue('[name=title]')).toBe('Desk for the office');
    await waitUntil('the draft on the server', async () => (await titleOnServer()) === 'Desk for the office');
  });

  it('keeps everything through a renderer crash', async () => {
    const page = await openPage(context, suite.server, '/product');
    await page.fill('[name=notes]', 'typed before the crash');
    await page.check('[name=agree]');
    const crashed = page.waitForEvent('crash');
    const session = await context.newCDPSession(page);
    void session.send('Page.crash').catch(() => undefined);
    await crashed;
    const next = await openPage(context, suite.server, '/product');
    await next.waitForSelector('[data-autosave-notice]');
    expect(await next.inputValue('[name=notes]')).toBe('typed before the crash');
    expect(await next.isChecked('[name=agree]')).toBe(true);
  });
});

/** The one-field product page, its service sending as `serviceOptions` say. */
async function openTitlePage(pathname: string, serviceOptions: typeof NO_TIMED_SEND): Promise<Page> {
  suite.server.pages.set(pathname, {
    body: '<form id="product-42"><input name="title" value="Desk"></form>',
    serviceOptions,
  });
  return openPage(context, suite.server, pathname);
}

describe('leaving the page', () => {
  it('sends pending changes with keepalive when the page is left before the debounce', async () => {
    const page = await openTitlePage('/slow-product', NO_TIMED_SEND);
    await page.fill('[name=title]', 'Sent on the way out');
    expect(await titleOnServer()).toBeUndefined();
    await page.goto('about:blank');
    await waitUntil('the draft on the server', async () => (await titleOnServer()) === 'Sent on the way out');
  });

  it('sends pending changes when the tab is hidden (the last event a mobile browser reliably gives)', async () => {
    const page = await openTitlePage('/slow-product', NO_TIMED_SEND);
    await page.fill('[name=title]', 'Sent when hidden');
    await page.waitForTimeout(300);
    expect(await titleOnServer()).toBeUndefined();
    // Headless Chromium keeps every page visible: the page is told it was hidden as a browser would.
    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await waitUntil('the draft on the server', async () => (await titleOnServer()) === 'Sent when hidden');
  });

  it('sends on the sync interval without waiting for a long debounce', async () => {
    const page = await openTitlePage('/interval-product', { ...NO_TIMED_SEND, syncInterval: 300 });
    await page.fill('[name=title]', 'Sent on the interval');
    await waitUntil(
      'the draft on the server',
      async () => (await titleOnServer()) === 'Sent on the interval',
    );
  });

  it('sends on the way out only what fits the 64 KiB keepalive budget, and the rest on the next start', async () => {
    const forms = ['exit-a', 'exit-b', 'exit-c'];
    suite.server.pages.set('/three-long-forms', {
      body: forms.map((key) => `<form id="${key}"><textarea name="body"></textarea></form>`).join(''),
      serviceOptions: NO_TIMED_SEND,
    });
    const onServer = () => forms.filter((key) => suite.server.draftsOf(user).has(key));
    const page = await openPage(context, suite.server, '/three-long-forms');
    // About 30 KB each: two fit one keepalive request, three do not.
    for (const key of forms) await page.fill(`#${key} textarea`, `${key} `.repeat(4_000));
    const sentBefore = suite.server.received.length;
    await page.goto('about:blank');
    await waitUntil('two drafts sent on the way out', () => onServer().length === 2);
    const onTheWayOut = suite.server.received.slice(sentBefore).filter((request) => request.user === user);
    expect(onTheWayOut).toHaveLength(1);
    expect(onTheWayOut[0]?.bodyBytes).toBeLessThanOrEqual(64 * 1024);
    expect(onServer()).toEqual(['exit-a', 'exit-b']);

    await openPage(context, suite.server, '/three-long-forms');
    await waitUntil('the third draft sent on the next start', () => onServer().length === 3);
    const applied = suite.server.applied
      .filter((entry) => entry.user === user)
      .map((entry) => entry.change.key);
    expect(applied.sort()).toEqual(forms);
  });
});

describe('stopping and starting', () => {
  it('listens once to the page’s events after a stop and start in the same task', async () => {
    const page = await openPage(context, suite.server, '/product');
    await page.evaluate(() => {
      const service = window.autoSaveService;
      service?.stop();
      service?.start();
      service?.stop();
      service?.start();
    });
    await page.waitForTimeout(100);
    const cdp = await page.context().newCDPSession(page);
    const { result } = await cdp.send('Runtime.evaluate', { expression: 'window' });
    const { listeners } = await cdp.send('DOMDebugger.getEventListeners', {
      objectId: result.objectId ?? '',
    });
    expect(listeners.filter((listener) => listener.type === 'pagehide')).toHaveLength(1);
  });
});

describe('damaged local state', () => {
  it('starts a new client when the stored mutation id is damaged, so no change is taken for a duplicate', async () => {
    const page = await openPage(context, suite.server, '/product');
    await page.fill('[name=title]', 'Before the damage');
    await waitUntil(
      'the first edit on the server',
      async () => (await titleOnServer()) === 'Before the damage',
    );
    const [firstClient] = new Set(appliedFor('product-42').map((entry) => entry.clientId));
    await page.evaluate(() => {
      const key = Object.keys(localStorage).find((candidate) => candidate.endsWith(':mid'));
      if (!key) throw new Error('no stored mutation id');
      localStorage.setItem(key, '1e309');
    });
    await page.reload();
    await page.waitForFunction(() => window.autoSaveService !== undefined);
    await page.fill('[name=title]', 'After the damage');
    await waitUntil(
      'the second edit on the server',
      async () => (await titleOnServer()) === 'After the damage',
    );
    const clients = [...new Set(appliedFor('product-42').map((entry) => entry.clientId))];
    expect(clients).toHaveLength(2);
    expect(clients[0]).toBe(firstClient);
    expectContiguousIds();
  });
});

describe('offline and outages', () => {
  it('syncs typing done offline once when back online, with no duplicate on the server', async () => {
    const page = await openPage(context, suite.server, '/product');
    await context.setOffline(true);
    await page.fill('[name=title]', 'Typed offline');
    await waitUntil('the offline status', async () => (await statusOf(page)).state === 'offline');
    expect(appliedFor('product-42')).toHaveLength(0);
    await context.setOffline(false);
    await waitUntil('the draft on the server', async () => (await titleOnServer()) === 'Typed offline');
    await page.waitForTimeout(1500);
    expect(appliedFor('product-42')).toHaveLength(1);
    expectContiguousIds();
    expect((await statusOf(page)).state).toBe('saved');
  });

  it('loses nothing when the server stops mid-typing and comes back', async () => {
    const page = await openPage(context, suite.server, '/product');
    await page.fill('[name=title]', 'First part');
    await waitUntil('the first part on the server', async () => (await titleOnServer()) === 'First part');
    await suite.server.stop();
    // While the server is down the status cycles: "local" at each keystroke, "saving" at each retry,
    // "offline" once it fails. The record keeps the failure even when every poll lands elsewhere.
    const seenStatuses = await recordStatuses(page);
    await page.fill('[name=title]', 'First part, second part');
    await page.fill('[name=notes]', 'while the server was down');
    await waitUntil('a failed attempt', async () =>
      (await seenStatuses()).some((status) => status.startsWith('offline:') || status.startsWith('error:')),
    );
    await suite.server.restart();
    await waitUntil(
      'everything on the server',
      async () => (await titleOnServer()) === 'First part, second part',
      20_000,
    );
    expect(suite.server.draftsOf(user).get('product-42')?.data).toMatchObject({
      notes: 'while the server was down',
    });
    expectContiguousIds();
  });

  it('keeps the queue through 503 answers and parks a change the server refuses without blocking the rest', async () => {
    const page = await openPage(context, suite.server, '/product');
    suite.server.unavailable = true;
    suite.server.rejectKeys.add('bad-key');
    await page.evaluate(() => {
      window.autoSaveService?.saveState('bad-key', { broken: true });
      window.autoSaveService?.saveState('sidebar', { open: true });
    });
    await page.fill('[name=title]', 'After the outage');
    const before = suite.server.unavailableAnswers;
    await waitUntil('a 503', () => suite.server.unavailableAnswers > before);
    await page.waitForTimeout(300);
    expect(appliedFor('product-42')).toHaveLength(0);
    suite.server.unavailable = false;
    await waitUntil(
      'the form draft on the server',
      async () => (await titleOnServer()) === 'After the outage',
      20_000,
    );
    await waitUntil('the state on the server', () => suite.server.draftsOf(user).get('sidebar'));
    expect(suite.server.draftsOf(user).has('bad-key')).toBe(false);
    const parked = await page.evaluate(() =>
      window.autoSaveService?.parkedChanges().map((entry) => entry.change.key),
    );
    expect(parked).toEqual(['bad-key']);
    expectContiguousIds();
  });
});

describe('several tabs', () => {
  it('shows each tab the other’s newer edit, and sends from one client with no duplicates', async () => {
    const first = await openPage(context, suite.server, '/product');
    const second = await openPage(context, suite.server, '/product');
    await first.fill('[name=title]', 'Edited in the first tab');
    await waitUntil(
      'the edit in the second tab',
      async () => (await second.inputValue('[name=title]')) === 'Edited in the first tab',
    );
    await second.fill('[name=notes]', 'Edited in the second tab');
    await waitUntil(
      'the edit in the first tab',
      async () => (await first.inputValue('[name=notes]')) === 'Edited in the second tab',
    );
    await waitUntil(
      'both edits on the server',
      () => {
        // No draft yet is "not yet", not an error: JSON.stringify(undefined) is undefined.
        const stored = JSON.stringify(suite.server.draftsOf(user).get('product-42')?.data ?? null);
        return stored.includes('Edited in the second tab') && stored.includes('first tab');
      },
      20_000,
    );
    const clients = new Set(
      suite.server.applied.filter((entry) => entry.user === user).map((entry) => entry.clientId),
    );
    expect(clients.size).toBe(1);
    expectContiguousIds();
  });

  it('signing out in one tab clears the drafts in another', async () => {
    const first = await openPage(context, suite.server, '/product');
    const second = await openPage(context, suite.server, '/product');
    await second.fill('[name=title]', 'Draft in the second tab');
    expect((await localKeys(second)).some((key) => key.includes(encodeURIComponent(user)))).toBe(true);
    await Promise.all([first.waitForURL(/signed-out/), first.click('#logout')]);
    await waitUntil('the second tab signed out', async () => (await statusOf(second)).text === 'Signed out');
    await second.fill('[name=notes]', 'typed after sign-out');
    const keys = await localKeys(second);
    expect(keys.filter((key) => key.includes(`:${encodeURIComponent(user)}:`))).toEqual([]);
  });

  it('ignores a malformed sign-out signal another script wrote, without an error', async () => {
    const first = await openPage(context, suite.server, '/product');
    const second = await openPage(context, suite.server, '/product');
    const lines = collectConsole(second);
    // Registered after the service's own listener, so it runs after the service handled the event.
    await second.evaluate((key) => {
      const seen = new Promise<void>((resolve) =>
        addEventListener(
          'storage',
          (event) => event.key === key && event.newValue === '["an array"]' && resolve(),
        ),
      );
      (window as unknown as { lastSignalSeen: Promise<void> }).lastSignalSeen = seen;
    }, SIGNOUT_KEY);
    await first.evaluate((key) => localStorage.setItem(key, '{not json'), SIGNOUT_KEY);
    await first.evaluate((key) => localStorage.setItem(key, '["an array"]'), SIGNOUT_KEY);
    await second.evaluate(() => (window as unknown as { lastSignalSeen: Promise<void> }).lastSignalSeen);
    await second.fill('[name=title]', 'Still signed in');
    await waitUntil('the edit saved on this device', async () =>
      (await localKeys(second)).some((key) => key.includes(`:${encodeURIComponent(user)}:`)),
    );
    expect((await statusOf(second)).text).not.toBe('Signed out');
    expect(lines.filter((line) => line.startsWith('pageerror'))).toEqual([]);
  });

  it('keeps saying signed out when another tab signs out while this tab’s sync is on the wire', async () => {
    // The second tab alone at first, so it is the one that sends (tabs share one sender).
    const second = await openPage(context, suite.server, '/product');
    let requestSeen = false;
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    await second.route('**/api/autosave/sync/', async (route) => {
      requestSeen = true;
      await released;
      await route.continue().catch(() => {}); // the page may have aborted it meanwhile
    });
    await second.fill('[name=title]', 'On the wire at sign-out');
    await waitUntil('the second tab’s sync on the wire', () => requestSeen);
    const first = await openPage(context, suite.server, '/product');
    await Promise.all([first.waitForURL(/signed-out/), first.click('#logout')]);
    await waitUntil('the second tab signed out', async () => (await statusOf(second)).text === 'Signed out');
    release();
    // Nothing may come after: the aborted request neither shows "offline" nor retries.
    await second.waitForTimeout(1500);
    expect(await statusOf(second)).toMatchObject({ state: 'idle', text: 'Signed out' });
  });
});

describe('console lines', () => {
  it('prints the contract’s lines with the bundle’s own defaults', async () => {
    suite.server.pages.set('/defaults', { body: '<form id="plain"><input name="a"></form>' });
    const page = await context.newPage();
    const lines = collectConsole(page);
    await page.goto(suite.server.url('/defaults'));
    await page.fill('[name=a]', 'x');
    await page.evaluate(() => window.autoSaveService?.syncWithBackend());
    expect(lines).toContain('[AUTO-SAVE] Service initialized');
    expect(lines).toContain('[AUTO-SAVE] Saved form data: plain');
    expect(lines).toContain('[AUTO-SAVE] Synced with backend');
    expect(lines.filter((line) => line.startsWith('pageerror'))).toEqual([]);
  });
});

describe('back/forward cache', () => {
  it('holds nothing that keeps the page out of it, and re-reads drafts when restored', async () => {
    const cachingBrowser = await launchBrowser({ backForwardCache: true });
    try {
      const cachingContext = await signedInContext(() => cachingBrowser.newContext(), suite.server, user);
      // Timers long enough that no debounced send can be in flight at the moment the page is left.
      suite.server.pages.set('/idle-product', {
        body: '<form id="product-42"><input name="title" value="Desk"></form>',
        serviceOptions: NO_TIMED_SEND,
      });
      const page = await openPage(cachingContext, suite.server, '/idle-product');
      await expectRestoredFromCache(page);
    } finally {
      await cachingBrowser.close();
    }
  });
});

async function expectRestoredFromCache(page: Page): Promise<void> {
  await page.evaluate(() => {
    window.addEventListener('pageshow', (event) => {
      document.documentElement.dataset.restoredFromCache = String(event.persisted);
    });
  });
  await page.fill('[name=title]', 'Before leaving');
  // A completed sync: the lock and the request must both be let go of afterwards.
  await page.evaluate(() => window.autoSaveService?.syncWithBackend());
  expect(await titleOnServer()).toBe('Before leaving');
  await page.fill('[name=title]', 'Before leaving, again');
  await page.goto(suite.server.url('/empty'));
  await page.evaluate(() => {
    localStorage.setItem(
      Object.keys(localStorage).find((key) => key.endsWith('\u001ftitle')) ?? 'missing',
      JSON.stringify('Changed while away'),
    );
  });
  // A page restored from the cache fires no load event: wait for the commit only.
  await page.goBack({ waitUntil: 'commit' });
  const restored = await waitUntil('pageshow', () =>
    page.evaluate(() => document.documentElement.dataset.restoredFromCache),
  );
  expect(restored).toBe('true');
  await waitUntil(
    'the newer draft shown',
    async () => (await page.inputValue('[name=title]')) === 'Changed while away',
  );
}
