/**
 * The service restores into the framework's own state, not only its DOM (issue 15), on pages built
 * with each framework's real package (framework-pages.ts): React 18 and 19, Preact, Vue 3 and
 * Svelte 5. Every page shows a preview rendered from the framework's state (`#state`), never read
 * from the inputs, a "Re-render" button, and a submit handler that shows the state it submitted.
 * Also: a form that leaves and comes back on a client-side route change, a server-rendered React
 * page hydrated with hydrateRoot, and react-hook-form's defaultValues and a record it loads.
 */
import type { ConsoleMessage, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { waitUntil } from '../../support/browser.js';
import { useBrowserSuite } from '../../support/browser-suite.js';
import { DEFAULTS, type Profile, RECORD } from './apps/profile.js';
import { buildFrameworkPages, type FrameworkPages, type ReactVersion } from './framework-pages.js';

/** What the tests type: every field differs from the defaults and from the loaded record. */
const TYPED: Profile = {
  title: 'Grace',
  qty: '42',
  due: '2026-12-24',
  notes: 'Line one\nLine two',
  agree: true,
  tags: ['b', 'c'],
  plan: 'pro',
  size: 'l',
  colors: ['blue', 'green'],
};

const reactPage = (script: string, mode = 'form', html = '') =>
  `<div id="root" data-mode="${mode}">${html}</div><script type="module" src="${script}"></script>`;

const FRAMEWORK_PAGES: Record<string, string> = {
  'React 18': reactPage('/react18.js'),
  'React 19': reactPage('/react19.js'),
  Preact: '<div id="root"></div><script type="module" src="/preact.js"></script>',
  'Vue 3':
    '<div id="root"></div><script src="/vue.global.js"></script><script type="module" src="/vue-app.js"></script>',
  'Svelte 5': '<div id="root"></div><script type="module" src="/svelte.js"></script>',
};

const REACT_VERSIONS: readonly ReactVersion[] = ['18', '19'];

const pathOf = (name: string) => `/${name.toLowerCase().replaceAll(' ', '-')}`;

const suite = useBrowserSuite<FrameworkPages>({
  build: buildFrameworkPages,
  setup: (server, pages) => {
    for (const [name, body] of Object.entries(FRAMEWORK_PAGES)) server.pages.set(pathOf(name), { body });
    for (const version of REACT_VERSIONS) {
      const routed = { body: reactPage(`/react${version}.js`, 'routed') };
      server.pages.set(`/react${version}/spa/form`, routed);
      server.pages.set(`/react${version}/spa/other`, routed);
      server.pages.set(`/react${version}-ssr`, {
        body: reactPage(`/react${version}-dev.js`, 'ssr', pages?.serverHtml[version]),
        // When the first restored value reached the page, to compare with when hydration finished.
        head: `<script>document.addEventListener('input', () => { window.firstRestoreAt ??= performance.now(); }, true);</script>`,
      });
      server.pages.set(`/react-hook-form${version}`, {
        body: `<div id="root"></div><script type="module" src="/react-hook-form${version}.js"></script>`,
      });
    }
  },
});

async function openPage(path: string): Promise<Page> {
  const page = await (await suite.newContext()).newPage();
  await page.goto(suite.server.url(path));
  await page.waitForSelector('#state');
  await page.waitForFunction(() => window.autoSaveService !== undefined);
  return page;
}

async function typeEveryKind(page: Page): Promise<void> {
  await page.fill('[name=title]', TYPED.title);
  await page.fill('[name=qty]', TYPED.qty);
  await page.fill('[name=due]', TYPED.due);
  await page.fill('[name=notes]', TYPED.notes);
  await page.check('[name=agree]');
  await page.uncheck('[name=tags][value=a]');
  await page.check('[name=tags][value=b]');
  await page.check('[name=tags][value=c]');
  await page.check('[name=plan][value=pro]');
  await page.selectOption('[name=size]', TYPED.size);
  await page.selectOption('[name=colors]', TYPED.colors);
  // Leaves the last field, as a user would (Vue's v-model.lazy takes the notes on change).
  await page.focus('[name=title]');
}

/** A framework's values compared as the form shows them: numbers as text, lists in order. */
function normalise(values: Record<string, unknown>): Record<string, unknown> {
  const sorted = (list: unknown) => (Array.isArray(list) ? [...(list as string[])].sort() : list);
  return { ...values, qty: String(values.qty), tags: sorted(values.tags), colors: sorted(values.colors) };
}

const expected = (values: object) => normalise({ ...values });

/** What the framework renders from its own state. */
async function stateOf(page: Page, selector = '#state'): Promise<Record<string, unknown>> {
  return normalise(JSON.parse((await page.textContent(selector)) ?? 'null') as Record<string, unknown>);
}

/** What the fields themselves show. */
async function fieldsOf(page: Page): Promise<Record<string, unknown>> {
  return normalise(
    await page.evaluate(() => {
      const form = document.getElementById('profile') as HTMLFormElement;
      const field = (name: string) => form.elements.namedItem(name) as HTMLInputElement;
      const checked = (name: string) =>
        Array.from(form.querySelectorAll<HTMLInputElement>(`[name=${name}]:checked`), (box) => box.value);
      return {
        title: field('title').value,
        qty: field('qty').value,
        due: field('due').value,
        notes: field('notes').value,
        agree: field('agree').checked,
        tags: checked('tags'),
        plan: checked('plan')[0] ?? '',
        size: field('size').value,
        colors: Array.from((field('colors') as unknown as HTMLSelectElement).selectedOptions, (o) => o.value),
      };
    }),
  );
}

async function reloadRestored(page: Page): Promise<void> {
  await page.reload();
  await page.waitForSelector('[data-autosave-notice]');
}

async function rerender(page: Page): Promise<void> {
  const before = await page.textContent('#renders');
  await page.click('#rerender');
  await page.waitForFunction((count) => document.querySelector('#renders')?.textContent !== count, before);
}

async function submitted(page: Page): Promise<Record<string, unknown>> {
  await page.click('button[type=submit]');
  await page.waitForFunction(() => (document.querySelector('#submitted')?.textContent ?? '') !== '');
  return stateOf(page, '#submitted');
}

for (const name of Object.keys(FRAMEWORK_PAGES)) {
  describe(name, () => {
    it('restores every field kind into its state: the preview, a re-render and a submit carry the draft', async () => {
      const page = await openPage(pathOf(name));
      expect(await stateOf(page)).toEqual(expected(DEFAULTS));
      await typeEveryKind(page);
      // The page follows typing (else the rest proves nothing).
      expect(await stateOf(page)).toEqual(expected(TYPED));

      await reloadRestored(page);
      expect(await stateOf(page)).toEqual(expected(TYPED));
      await rerender(page);
      expect(await stateOf(page)).toEqual(expected(TYPED));
      expect(await fieldsOf(page)).toEqual(expected(TYPED));
      expect(await submitted(page)).toEqual(expected(TYPED));
    });

    it('Discard puts its state back to the defaults', async () => {
      const page = await openPage(pathOf(name));
      await typeEveryKind(page);
      await reloadRestored(page);
      await page.click('[data-autosave-action=discard]');
      await waitUntil('the defaults in the state', async () => {
        const state = await stateOf(page);
        return JSON.stringify(state) === JSON.stringify(expected(DEFAULTS));
      });
      await rerender(page);
      expect(await stateOf(page)).toEqual(expected(DEFAULTS));
      expect(await fieldsOf(page)).toEqual(expected(DEFAULTS));
      expect(await submitted(page)).toEqual(expected(DEFAULTS));
    });
  });
}

for (const version of REACT_VERSIONS) {
  describe(`React ${version}, the form’s life on the page`, () => {
    it('restores a form that leaves on a client-side route change and comes back, and takes its notice along', async () => {
      const page = await openPage(`/react${version}/spa/form`);
      await typeEveryKind(page);
      await page.click('#to-other');
      await page.waitForSelector('#other');
      await page.click('#to-form');
      await page.waitForSelector('[data-autosave-notice]');
      expect(await stateOf(page)).toEqual(expected(TYPED));
      await rerender(page);
      expect(await fieldsOf(page)).toEqual(expected(TYPED));
      // Away again: no notice is left behind about a form that is gone.
      await page.click('#to-other');
      await page.waitForSelector('#other');
      await waitUntil('the notice to go with its form', async () =>
        page.evaluate(() => document.querySelector('[data-autosave-notice]') === null),
      );
      // And back through the browser's own history.
      await page.goBack();
      await page.waitForSelector('[data-autosave-notice]');
      expect(await stateOf(page)).toEqual(expected(TYPED));
    });

    it('restores a server-rendered page after hydrateRoot has hydrated it, with no hydration warning', async () => {
      const page = await openPage(`/react${version}-ssr`);
      await typeEveryKind(page);
      const problems: string[] = [];
      page.on('console', (message: ConsoleMessage) => {
        if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
      });
      page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
      await reloadRestored(page);
      const timing = await page.evaluate(() => {
        const times = window as unknown as { committedAt?: number; firstRestoreAt?: number };
        return { committedAt: times.committedAt, firstRestoreAt: times.firstRestoreAt };
      });
      expect(timing.committedAt).toBeTypeOf('number');
      expect(timing.firstRestoreAt).toBeGreaterThan(timing.committedAt ?? Number.POSITIVE_INFINITY);
      expect(await stateOf(page)).toEqual(expected(TYPED));
      await rerender(page);
      expect(await fieldsOf(page)).toEqual(expected(TYPED));
      expect(await submitted(page)).toEqual(expected(TYPED));
      expect(problems).toEqual([]);
    });

    it('keeps the draft over react-hook-form’s defaultValues and over a record loaded 300 ms after load; an untouched field keeps the app’s value', async () => {
      const page = await openPage(`/react-hook-form${version}`);
      await page.waitForFunction(() => (window as unknown as { recordLoaded?: boolean }).recordLoaded);
      expect(await stateOf(page)).toEqual(expected(RECORD));
      await typeEveryKind(page);
      await reloadRestored(page);
      // Before the record comes: the draft over the defaultValues, sku (never typed in) the default.
      const early = await page.evaluate(() => ({
        state: document.querySelector('#state')?.textContent ?? '',
        recordLoaded: (window as unknown as { recordLoaded?: boolean }).recordLoaded === true,
      }));
      expect(normalise(JSON.parse(early.state))).toEqual(
        expected({ ...TYPED, sku: early.recordLoaded ? RECORD.sku : 'SKU-DEFAULT' }),
      );
      // After the record: the draft still, sku the record's.
      await page.waitForFunction(() => (window as unknown as { recordLoaded?: boolean }).recordLoaded);
      await waitUntil('the record’s sku', async () => (await stateOf(page)).sku === RECORD.sku);
      await page.evaluate(
        () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))),
      );
      expect(await stateOf(page)).toEqual(expected({ ...TYPED, sku: RECORD.sku }));
      await rerender(page);
      expect(await fieldsOf(page)).toEqual(expected(TYPED));
      expect(await submitted(page)).toEqual(expected({ ...TYPED, sku: RECORD.sku }));
      // Discard goes back to what the app had put in the form: the record.
      await page.click('[data-autosave-action=discard]');
      await waitUntil('the record in the state', async () => (await stateOf(page)).title === RECORD.title);
      expect(await stateOf(page)).toEqual(expected(RECORD));
    });
  });
}

describe('the hold against the app’s own writes', () => {
  it('gives up a field the app keeps rewriting (it upper-cases what it is given) after a few tries, not every frame', async () => {
    suite.server.pages.set('/upper', {
      body: `<form id="upper"><input name="code"></form><pre id="state">plain page</pre>
<script>
  window.restoreInputs = 0;
  const field = document.querySelector('[name=code]');
  field.addEventListener('input', () => {
    window.restoreInputs += 1;
    field.value = field.value.toUpperCase();
  });
</script>`,
    });
    const page = await openPage('/upper');
    // Typed through the page, stored as typed: the service's listener runs before the page's.
    await page.fill('[name=code]', 'abc');
    expect(await page.inputValue('[name=code]')).toBe('ABC');
    await reloadRestored(page);
    await page.waitForTimeout(1000);
    expect(await page.inputValue('[name=code]')).toBe('ABC');
    // The restore's input, then at most three more: 60 frames went by.
    expect(await page.evaluate(() => (window as unknown as { restoreInputs: number }).restoreInputs)).toBe(4);
  });
});
