/** Pages and helpers shared by the client's browser tests. */
import type { BrowserContext, Page } from 'playwright-core';
import type { AutosaveTestServer, TestPage } from '../../support/autosave-test-server.js';

/** Short timers so tests do not wait the production 2 s / 30 s. */
export const FAST_OPTIONS = { debounceDelay: 150, syncInterval: 1000 };

/**
 * Neither the debounce nor the interval sends during a test: only what the test does (an event, a
 * call) sends, however slowly a loaded machine runs it.
 */
export const NO_TIMED_SEND = { debounceDelay: 60_000, syncInterval: 60_000 };

/** Values typed into excluded fields; none may ever appear in storage or on the network. */
export const SECRETS = {
  password: 'secret-password-1',
  card: '4111111111111111',
  otp: '918273',
  newPassword: 'secret-new-password-2',
  optedOut: 'secret-opted-out-3',
};

export function productForm(version = 3): string {
  return `
<form id="product-42" action="/submit/product-42?page=/product" method="post" data-autosave-version="${version}">
  <input type="hidden" name="_csrf" value="{{csrf}}">
  <input name="csrf_token" value="{{csrf}}" readonly>
  <input name="title" type="text" value="Desk">
  <textarea name="notes"></textarea>
  <select name="size"><option value="s">S</option><option value="m">M</option><option value="l">L</option></select>
  <select name="colors" multiple><option value="red">red</option><option value="green">green</option><option value="blue">blue</option></select>
  <input type="checkbox" name="tags" value="a" checked><input type="checkbox" name="tags" value="b"><input type="checkbox" name="tags" value="c">
  <input type="checkbox" name="agree">
  <input type="radio" name="plan" value="free" checked><input type="radio" name="plan" value="pro">
  <input type="number" name="qty"><input type="date" name="due"><input type="range" name="level" min="0" max="10" value="5"><input type="color" name="tint">
  <div contenteditable="true" data-autosave-field="bio"></div>
  <input type="password" name="pw">
  <input type="file" name="upload">
  <input name="card" autocomplete="cc-number">
  <input name="otp" autocomplete="one-time-code">
  <input name="newpw" type="text" autocomplete="new-password">
  <input name="secret" data-autosave="off">
  <button type="submit">Save</button>
</form>
<form method="post" action="/logout" data-autosave-signout><input type="hidden" name="_csrf" value="{{csrf}}"><button id="logout">Sign out</button></form>`;
}

export function registerPages(server: AutosaveTestServer, version = 3): void {
  const page: TestPage = { body: productForm(version), serviceOptions: FAST_OPTIONS };
  server.pages.set('/product', page);
  server.pages.set('/after-submit', { body: '<p>Saved.</p>', serviceOptions: FAST_OPTIONS });
  server.pages.set('/signed-out', { body: '<p>Bye.</p>', serviceOptions: FAST_OPTIONS });
  server.pages.set('/empty', { body: '<div id="app"></div>', serviceOptions: FAST_OPTIONS });
}

export async function signedInContext(
  newContext: () => Promise<BrowserContext>,
  server: AutosaveTestServer,
  user: string,
): Promise<BrowserContext> {
  const context = await newContext();
  await context.addCookies([server.sessionCookie(user)]);
  return context;
}

export async function openPage(
  context: BrowserContext,
  server: AutosaveTestServer,
  path: string,
): Promise<Page> {
  const page = await context.newPage();
  await page.goto(server.url(path));
  await page.waitForFunction(() => window.autoSaveService !== undefined);
  return page;
}

/** Every localStorage and sessionStorage entry, and every cookie, as one string to search in. */
export async function everythingStored(page: Page): Promise<string> {
  const storages = await page.evaluate(() =>
    JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)]),
  );
  const cookies = JSON.stringify(await page.context().cookies());
  return storages + cookies;
}

export async function statusOf(page: Page): Promise<{ state: string | undefined; text: string }> {
  return page.evaluate(() => {
    const element = document.querySelector<HTMLElement>('[data-autosave-status]');
    return { state: element?.dataset.autosaveState, text: element?.textContent ?? '' };
  });
}

/**
 * Starts recording every status the page shows, as `state: text`. A status like "Saved on this
 * device" lasts only until the next sync starts (a debounce later), so sampling it can miss it on
 * a loaded machine; the record cannot.
 */
export async function recordStatuses(page: Page): Promise<() => Promise<string[]>> {
  await page.evaluate(() => {
    const element = document.querySelector<HTMLElement>('[data-autosave-status]');
    if (!element) throw new Error('status element missing');
    const seen: string[] = [];
    const note = () => seen.push(`${element.dataset.autosaveState}: ${element.textContent ?? ''}`);
    new MutationObserver(note).observe(element, {
      attributes: true,
      childList: true,
      characterData: true,
      subtree: true,
    });
    (window as unknown as { seenStatuses: string[] }).seenStatuses = seen;
  });
  return () => page.evaluate(() => (window as unknown as { seenStatuses: string[] }).seenStatuses);
}

export async function localKeys(page: Page): Promise<string[]> {
  return page.evaluate(() => Object.keys(localStorage));
}
