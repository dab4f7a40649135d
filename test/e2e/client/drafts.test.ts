/**
 * Local drafts in real Chromium: every field kind restored, exclusions, per-user scoping, forms
 * and fields added late, stale drafts, a full storage, and what a submit does to a draft.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitUntil } from '../../support/browser.js';
import { useBrowserSuite } from '../../support/browser-suite.js';
import {
  everythingStored,
  FAST_OPTIONS,
  localKeys,
  NO_TIMED_SEND,
  openPage,
  productForm,
  recordStatuses,
  registerPages,
  SECRETS,
  statusOf,
} from './fixtures.js';

const suite = useBrowserSuite();
/** A user per test: server drafts of one test never satisfy another test's wait. */
let user = '';
let userCount = 0;

beforeEach(() => {
  userCount += 1;
  user = `alice-${userCount}`;
});

afterEach(() => {
  suite.server.submitOutcome = 'accept';
  registerPages(suite.server);
});

function contextFor(user: string | null): Promise<BrowserContext> {
  registerPages(suite.server);
  return suite.newContext(user ?? undefined);
}

async function fillEveryKind(page: Page): Promise<void> {
  await page.fill('[name=title]', 'Standing desk');
  await page.fill('[name=notes]', 'Line one\nLine two');
  await page.selectOption('[name=size]', 'l');
  await page.selectOption('[name=colors]', ['red', 'blue']);
  await page.uncheck('[name=tags][value=a]');
  await page.check('[name=tags][value=b]');
  await page.check('[name=tags][value=c]');
  await page.check('[name=agree]');
  await page.check('[name=plan][value=pro]');
  await page.fill('[name=qty]', '12');
  await page.fill('[name=due]', '2026-12-24');
  await page.fill('[name=level]', '8');
  await page.fill('[name=tint]', '#00ff88');
  await page.click('[data-autosave-field=bio]');
  await page.keyboard.type('Hello there');
}

async function readEveryKind(page: Page) {
  return page.evaluate(() => {
    const form = document.querySelector<HTMLFormElement>('#product-42');
    if (!form) throw new Error('form missing');
    const value = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value;
    return {
      title: value('title'),
      notes: value('notes'),
      size: value('size'),
      colors: Array.from(
        (form.elements.namedItem('colors') as HTMLSelectElement).selectedOptions,
        (o) => o.value,
      ),
      tags: Array.from(form.querySelectorAll<HTMLInputElement>('[name=tags]:checked'), (box) => box.value),
      agree: (form.elements.namedItem('agree') as HTMLInputElement).checked,
      plan: (form.elements.namedItem('plan') as RadioNodeList).value,
      qty: value('qty'),
      due: value('due'),
      level: value('level'),
      tint: value('tint'),
      bio: form.querySelector('[data-autosave-field=bio]')?.textContent,
    };
  });
}

const EXPECTED_EVERY_KIND = {
  title: 'Standing desk',
  notes: 'Line one\nLine two',
  size: 'l',
  colors: ['red', 'blue'],
  tags: ['b', 'c'],
  agree: true,
  plan: 'pro',
  qty: '12',
  due: '2026-12-24',
  level: '8',
  tint: '#00ff88',
  bio: 'Hello there',
};

describe('restoring drafts', () => {
  it('restores every field kind after a reload and says so, with a discard that puts the page back', async () => {
    const page = await openPage(await contextFor(user), suite.server, '/product');
    const seenStatuses = await recordStatuses(page);
    await fillEveryKind(page);
    // "Saved on this device" lasts only until the debounced sync starts: on a loaded machine a
    // sampled status can already read "Saved", so the test reads what the page showed.
    await waitUntil('the status to say saved on this device', async () =>
      (await seenStatuses()).includes('local: Saved on this device'),
    );
    await page.reload();
    await page.waitForSelector('[data-autosave-notice]');
    expect(await readEveryKind(page)).toEqual(EXPECTED_EVERY_KIND);
    expect(await page.textContent('[data-autosave-notice]')).toMatch(/Restored your unsaved changes from/);

    await page.click('[data-autosave-action=discard]');
    expect(await page.inputValue('[name=title]')).toBe('Desk');
    expect(await page.isChecked('[name=tags][value=a]')).toBe(true);
    expect((await localKeys(page)).some((key) => key.includes(':f:product-42'))).toBe(false);
  });

  it('fires on every restored field what typing and leaving it would (input, change; each box of a group that moved, its own), without saving them back', async () => {
    const context = await contextFor(user);
    // Listens before the service starts, as a framework binding the form would.
    suite.server.pages.set('/product-events', {
      body: productForm(),
      serviceOptions: FAST_OPTIONS,
      head: `<script>window.restoreEvents = [];
for (const type of ['input', 'change'])
  document.addEventListener(type, (event) => window.restoreEvents.push(type + ':' + (event.target.name || event.target.dataset.autosaveField)), true);
</script>`,
    });
    const page = await openPage(context, suite.server, '/product-events');
    await fillEveryKind(page);
    await waitUntil('the draft on the server', async () => suite.server.draftsOf(user).has('product-42'));
    await waitUntil('the status to say saved', async () => (await statusOf(page)).state === 'saved');
    await page.reload();
    await page.waitForSelector('[data-autosave-notice]');
    const events = await page.evaluate(
      () => (window as unknown as { restoreEvents: string[] }).restoreEvents,
    );
    const typed = ['title', 'notes', 'size', 'colors', 'agree', 'plan', 'qty', 'due', 'level', 'tint'];
    // The three boxes of tags each moved (a off, b and c on); a contenteditable region fires no change.
    const moved = [...typed, 'tags', 'tags', 'tags'];
    expect([...events].sort()).toEqual(
      [...moved.map((name) => `input:${name}`), ...moved.map((name) => `change:${name}`), 'input:bio'].sort(),
    );
    // Restoring is not an edit: nothing is queued or sent again, and the status stays as it was.
    const syncsBefore = suite.server.received.length;
    await page.waitForTimeout(FAST_OPTIONS.debounceDelay * 4);
    expect(suite.server.received.length).toBe(syncsBefore);
    expect((await localKeys(page)).filter((key) => key.includes(':p:'))).toEqual([]);
    expect((await statusOf(page)).state).toBe('idle');
  });

  it('fires each restored field’s events only after the microtasks the previous field’s events queued, as a framework rendering after a microtask needs', async () => {
    const context = await contextFor(user);
    // A framework that renders after a microtask (Preact, Vue, Svelte): each input queues a render,
    // by a promise or by queueMicrotask; each must run before the next field's events.
    suite.server.pages.set('/product-renders', {
      body: '<form id="renders"><input name="a"><input name="b"><input name="c"></form>',
      serviceOptions: NO_TIMED_SEND,
      head: `<script>window.restoreOrder = [];
document.addEventListener('input', (event) => {
  const name = event.target.name;
  window.restoreOrder.push('input:' + name);
  void Promise.resolve().then(() => window.restoreOrder.push('render:' + name));
  queueMicrotask(() => window.restoreOrder.push('task:' + name));
}, true);
document.addEventListener('change', (event) => window.restoreOrder.push('change:' + event.target.name), true);
</script>`,
    });
    const page = await openPage(context, suite.server, '/product-renders');
    for (const name of ['a', 'b', 'c']) await page.fill(`[name=${name}]`, `value ${name}`);
    await page.reload();
    await page.waitForSelector('[data-autosave-notice]');
    const order = await page.evaluate(() => (window as unknown as { restoreOrder: string[] }).restoreOrder);
    expect(order).toEqual(
      ['a', 'b', 'c'].flatMap((name) => [
        `input:${name}`,
        `change:${name}`,
        `render:${name}`,
        `task:${name}`,
      ]),
    );
    expect(await page.inputValue('[name=c]')).toBe('value c');
  });

  it('listens to fields once its restore has fired its events: typing is saved once, and a stop before then leaves no listener', async () => {
    const context = await contextFor(user);
    const page = await openPage(context, suite.server, '/product');
    await page.fill('[name=title]', 'Standing desk');
    await page.reload();
    await page.waitForSelector('[data-autosave-notice]');
    /** Counts this tab's writes of the title's draft; `restart` runs the service's start and stop in one task. */
    const typeCountingWrites = async (restart: string, text: string): Promise<number> => {
      await page.evaluate((source) => {
        const scope = window as unknown as {
          titleWrites: number;
          autoSaveService: { start(): void; stop(): void };
        };
        scope.titleWrites = 0;
        const title = document.querySelector<HTMLInputElement>('[name=title]');
        if (!title) throw new Error('no title field');
        // Each start restores the title again (it differs from the draft), queueing its steps.
        const differ = () => {
          title.value = 'Desk';
        };
        const service = scope.autoSaveService;
        new Function('service', 'differ', source)(service, differ);
      }, restart);
      await page.focus('[name=title]');
      await page.keyboard.press('End');
      await page.keyboard.type(text);
      return page.evaluate(() => (window as unknown as { titleWrites: number }).titleWrites);
    };
    await page.evaluate(() => {
      const scope = window as unknown as { titleWrites: number };
      const setItem = Storage.prototype.setItem;
      Storage.prototype.setItem = function (key: string, value: string) {
        if (key.includes(':f:product-42') && key.endsWith('title')) scope.titleWrites += 1;
        setItem.call(this, key, value);
      };
    });
    // Stopped and started again before the first start's steps ran: one listener, one write a keystroke.
    expect(
      await typeCountingWrites(
        'service.stop(); differ(); service.start(); service.stop(); differ(); service.start();',
        'x',
      ),
    ).toBe(1);
    expect(await page.inputValue('[name=title]')).toBe('Standing deskx');
    // Stopped before its steps ran: nothing listens, nothing is written.
    expect(await typeCountingWrites('service.stop(); differ(); service.start(); service.stop();', 'y')).toBe(
      0,
    );
  });

  it('names a field by its id when it has no name, an empty name counting as none', async () => {
    const context = await contextFor(user);
    suite.server.pages.set('/ids', {
      body: '<form id="profile"><input id="nick"><input name="" id="alias"></form>',
      serviceOptions: FAST_OPTIONS,
    });
    const page = await openPage(context, suite.server, '/ids');
    await page.fill('#nick', 'Al');
    await page.fill('#alias', 'Alpha');
    const names = (await localKeys(page))
      .filter((key) => key.includes(':f:profile\u001f'))
      .map((key) => key.slice(key.indexOf('\u001f') + 1))
      .sort();
    expect(names).toEqual(['alias', 'nick']);
  });

  it('saves a select made multiple after it was bound as a list of its selected options', async () => {
    const page = await openPage(await contextFor(user), suite.server, '/product');
    await page.selectOption('[name=size]', 'm');
    await page.evaluate(() => {
      const select = document.querySelector<HTMLSelectElement>('[name=size]');
      if (select) select.multiple = true;
    });
    await page.selectOption('[name=size]', ['s', 'l']);
    const stored = await page.evaluate(() => {
      const key = Object.keys(localStorage).find((candidate) => candidate.endsWith('\u001fsize'));
      return key ? JSON.parse(localStorage.getItem(key) ?? 'null') : null;
    });
    expect(stored).toEqual(['s', 'l']);
  });

  it('restores a checkbox group sharing one name and a multi-select exactly, including an emptied group', async () => {
    const page = await openPage(await contextFor(user), suite.server, '/product');
    await page.uncheck('[name=tags][value=a]');
    await page.selectOption('[name=colors]', ['green']);
    await page.reload();
    await page.waitForSelector('[data-autosave-notice]');
    const restored = await readEveryKind(page);
    expect(restored.tags).toEqual([]);
    expect(restored.colors).toEqual(['green']);
  });

  it('never restores a stale CSRF token over the page’s fresh one', async () => {
    const page = await openPage(await contextFor(user), suite.server, '/product');
    const firstToken = await page.inputValue('[name=_csrf]');
    await page.fill('[name=title]', 'Changed');
    // A readonly token field still fires input when a script touches it: it must not be saved.
    await page.dispatchEvent('[name=csrf_token]', 'input');
    await page.reload();
    await page.waitForSelector('[data-autosave-notice]');
    const freshToken = suite.server.latestCsrfToken(user);
    expect(freshToken).not.toBe(firstToken);
    expect(await page.inputValue('[name=_csrf]')).toBe(freshToken);
    expect(await page.inputValue('[name=csrf_token]')).toBe(freshToken);
    expect(await everythingStored(page)).not.toContain(firstToken);
  });

  it('restores the server’s draft on a device that has none, and says it came from another device', async () => {
    const first = await openPage(await contextFor(user), suite.server, '/product');
    await fillEveryKind(first);
    await waitUntil('the draft on the server', () => {
      const data = suite.server.draftsOf(user).get('product-42')?.data as Record<string, unknown> | undefined;
      return data?.bio === 'Hello there';
    });
    const other = await openPage(await contextFor(user), suite.server, '/product');
    const notice = await other.waitForSelector('[data-autosave-notice]');
    expect(await notice.textContent()).toContain('saved on another device');
    expect(await readEveryKind(other)).toEqual(EXPECTED_EVERY_KIND);
  });

  it('offers a draft older than the record with the fields that differ instead of applying it', async () => {
    const page = await openPage(await contextFor(user), suite.server, '/product');
    await page.fill('[name=title]', 'My edit');
    registerPages(suite.server, 5);
    await page.reload();
    const notice = await page.waitForSelector('[data-autosave-notice][data-autosave-stale]');
    expect(await notice.textContent()).toContain('Fields that differ: title');
    expect(await page.inputValue('[name=title]')).toBe('Desk');
    await page.click('[data-autosave-action=apply]');
    expect(await page.inputValue('[name=title]')).toBe('My edit');
  });

  it('keeps the draft over what the page’s own scripts fill in while it loads', async () => {
    // The page's DOMContentLoaded handler runs after the service's restore, and its load handler
    // before the service's: both fill fields the way an app initialises a form from its data. A slow
    // image holds the load event back until well after the service's first task.
    suite.server.pages.set('/initialised', {
      body: `<form id="initialised"><input name="headline"><textarea name="notes"></textarea><input name="sku"></form>
<img src="/slow-image.png" alt="">
<script>
  const field = (name) => document.getElementById('initialised').elements.namedItem(name);
  document.addEventListener('DOMContentLoaded', () => {
    field('headline').value = 'Headline from the page';
    field('sku').value = 'SKU from the page';
  });
  window.addEventListener('load', () => { field('notes').value = 'Notes from the page'; });
</script>`,
      serviceOptions: FAST_OPTIONS,
    });
    const context = await contextFor(user);
    await context.route('**/slow-image.png', async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await route.fulfill({ status: 204 });
    });
    const page = await openPage(context, suite.server, '/initialised');
    await page.fill('[name=headline]', 'My headline');
    await page.fill('[name=notes]', 'My notes');
    await page.reload({ waitUntil: 'load' });
    await page.waitForSelector('[data-autosave-notice]');
    // The service's load handler runs in the same task as the page's: one more turn and it is done.
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve)));
    expect(await page.inputValue('[name=headline]')).toBe('My headline');
    expect(await page.inputValue('[name=notes]')).toBe('My notes');
    // A field the user never touched keeps what the page put there.
    expect(await page.inputValue('[name=sku]')).toBe('SKU from the page');
  });
});

describe('the stored layout', () => {
  // Drafts outlive the script that wrote them: a new bundle must read what an older one stored.
  // The bundle shortens internal property names, and this pins every persisted shape against that.
  it('keeps fields, metas, states, markers and the outbox in the documented format', async () => {
    // No timed send: a debounce passing before the markers are read would turn them into the outbox.
    suite.server.pages.set('/product-untimed', { body: productForm(), serviceOptions: NO_TIMED_SEND });
    const page = await openPage(await contextFor(user), suite.server, '/product-untimed');
    suite.server.unavailable = true;
    try {
      await page.fill('[name=title]', 'Lamp');
      await page.evaluate(() => window.autoSaveService?.saveState('sidebar', { open: true }));
      const markers = await page.evaluate(() =>
        Object.keys(localStorage)
          .filter((key) => key.includes(':p:'))
          .map((key) => [key.slice(key.indexOf(':p:') + 3), Number(localStorage.getItem(key)) > 0]),
      );
      expect(markers.sort()).toEqual([
        ['form:product-42', true],
        ['state:sidebar', true],
      ]);
      const outcome = await page.evaluate(() => window.autoSaveService?.syncWithBackend());
      expect(outcome?.result).toBe('retrying');
      const stored = await page.evaluate((prefix) => {
        const read = (key: string) => JSON.parse(localStorage.getItem(prefix + key) ?? 'null');
        return {
          title: read('f:product-42\u001ftitle'),
          meta: read('m:product-42'),
          state: read('s:sidebar'),
          outbox: read('outbox'),
          mid: localStorage.getItem(`${prefix}mid`),
          cid: localStorage.getItem(`${prefix}cid`),
        };
      }, `steadfast:v1:${user}:`);
      expect(stored.title).toBe('Lamp');
      expect(Object.keys(stored.meta).sort()).toEqual(['e', 't', 'v']);
      expect(stored.meta.v).toBe(3);
      expect(stored.meta.e - stored.meta.t).toBe(7 * 24 * 60 * 60 * 1000);
      expect(Object.keys(stored.state).sort()).toEqual(['d', 'e', 't']);
      expect(stored.state.d).toEqual({ open: true });
      expect(stored.outbox.map((change: Record<string, unknown>) => Object.keys(change).sort())).toEqual([
        ['baseVersion', 'data', 'key', 'kind', 'mutationId', 'savedAt'],
        ['data', 'key', 'kind', 'mutationId', 'savedAt'],
      ]);
      expect(stored.outbox.map((change: { key: string }) => change.key)).toEqual(['product-42', 'sidebar']);
      expect(stored.outbox[0].data.title).toBe('Lamp');
      expect(stored.mid).toBe('2');
      expect(stored.cid).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      suite.server.unavailable = false;
    }
  });
});

describe('what is never stored', () => {
  it('keeps passwords, files, hidden inputs, card numbers, one-time codes, new passwords and opted-out fields out of storage and off the network', async () => {
    const context = await contextFor(user);
    const page = await openPage(context, suite.server, '/product');
    const posted: string[] = [];
    page.on('request', (request) => posted.push(request.postData() ?? ''));
    await page.fill('[name=pw]', SECRETS.password);
    await page.fill('[name=card]', SECRETS.card);
    await page.fill('[name=otp]', SECRETS.otp);
    await page.fill('[name=newpw]', SECRETS.newPassword);
    await page.fill('[name=secret]', SECRETS.optedOut);
    await page.setInputFiles('[name=upload]', {
      name: 'a.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('x'),
    });
    await page.fill('[name=title]', 'Visible title');
    await page.evaluate(() => window.autoSaveService?.saveAllPending());
    await waitUntil('the draft on the server', () => suite.server.draftsOf(user).get('product-42'));
    const stored = await everythingStored(page);
    const network = posted.join('\n') + JSON.stringify(suite.server.applied);
    expect(stored).toContain('Visible title');
    expect(network).toContain('Visible title');
    for (const secret of [...Object.values(SECRETS), 'a.txt', await page.inputValue('[name=_csrf]')]) {
      expect(stored).not.toContain(secret);
      expect(network).not.toContain(secret);
    }
  });

  it('never stores a cc-number field, even typed key by key', async () => {
    const page = await openPage(await contextFor(user), suite.server, '/product');
    await page.click('[name=card]');
    await page.keyboard.type('5555444433332222', { delay: 5 });
    expect(await everythingStored(page)).not.toContain('5555');
  });
});

describe('users on one browser', () => {
  it('shows another user, or no user, nothing of the first user’s drafts', async () => {
    const context = await contextFor(user);
    const page = await openPage(context, suite.server, '/product');
    await page.fill('[name=title]', 'Alice private title');
    await context.clearCookies();
    await context.addCookies([suite.server.sessionCookie('bob')]);
    await page.reload();
    expect(await page.inputValue('[name=title]')).toBe('Desk');
    expect(await page.$('[data-autosave-notice]')).toBeNull();
    await context.clearCookies();
    await page.reload();
    expect(await page.inputValue('[name=title]')).toBe('Desk');
    expect(await page.$('[data-autosave-notice]')).toBeNull();
  });
});

describe('forms and fields added after load', () => {
  const addLateForm = (page: Page) =>
    page.evaluate(() => {
      const app = document.querySelector('#app');
      const form = document.createElement('form');
      form.id = 'late-form';
      form.innerHTML = '<input name="city"><textarea name="remark"></textarea>';
      app?.append(form);
    });

  it('saves and restores a form added after load, and a field added to it later', async () => {
    const page = await openPage(await contextFor(user), suite.server, '/empty');
    await addLateForm(page);
    await page.fill('[name=city]', 'Lisbon');
    await page.evaluate(() => {
      const field = document.createElement('input');
      field.name = 'zip';
      document.querySelector('#late-form')?.append(field);
    });
    await page.fill('[name=zip]', '1100');
    await page.reload();
    await page.waitForFunction(() => window.autoSaveService?.status !== undefined);
    await addLateForm(page);
    await waitUntil(
      'the late form restored',
      async () => (await page.inputValue('[name=city]')) === 'Lisbon',
    );
    await page.evaluate(() => {
      const field = document.createElement('input');
      field.name = 'zip';
      document.querySelector('#late-form')?.append(field);
    });
    await waitUntil('the late field restored', async () => (await page.inputValue('[name=zip]')) === '1100');
  });

  it('leaves a field removed from its form out of the draft saved afterwards', async () => {
    const page = await openPage(await contextFor(user), suite.server, '/empty');
    await addLateForm(page);
    await page.fill('[name=city]', 'Lisbon');
    // Saving every field once lists the form's fields; the removal must drop remark from that list.
    await page.evaluate(() => window.autoSaveService?.saveAllPending());
    await page.evaluate(() => {
      for (const key of Object.keys(localStorage))
        if (key.endsWith('\u001fremark')) localStorage.removeItem(key);
      document.querySelector('[name=remark]')?.remove();
    });
    await page.evaluate(() => window.autoSaveService?.saveAllPending());
    const fields = (await localKeys(page)).filter((key) => key.includes(':f:'));
    expect(fields.some((key) => key.endsWith('\u001fcity'))).toBe(true);
    expect(fields.some((key) => key.endsWith('\u001fremark'))).toBe(false);
  });

  /** Moves the element `selector` names into a new `data-autosave="off"` container inside `parent`. */
  const moveIntoOptedOut = (page: Page, selector: string, parent: string) =>
    page.evaluate(
      ([selector, parent]) => {
        const off = document.createElement('div');
        off.dataset.autosave = 'off';
        document.querySelector(parent)?.append(off);
        const moved = document.querySelector(selector);
        if (moved) off.append(moved);
      },
      [selector, parent] as const,
    );

  it('stops saving a field moved into an opted-out container, and a form moved into one', async () => {
    const page = await openPage(await contextFor(user), suite.server, '/empty');
    await addLateForm(page);
    await page.fill('[name=city]', 'Lisbon');
    await page.fill('[name=remark]', 'first remark');
    expect(await everythingStored(page)).toContain('Lisbon');
    // Both fields were typed into, so their bindings are cached; then the page moves them.
    await moveIntoOptedOut(page, '[name=city]', '#late-form');
    await page.fill('[name=city]', 'Porto');
    await page.fill('[name=remark]', 'second remark');
    expect(await everythingStored(page)).not.toContain('Porto');
    expect(await everythingStored(page)).toContain('second remark');
    await moveIntoOptedOut(page, '#late-form', '#app');
    await page.fill('[name=remark]', 'third remark');
    expect(await everythingStored(page)).not.toContain('third remark');
  });
});

describe('single-page apps', () => {
  it('restores a form that a client-side navigation replaced with a new element of the same key', async () => {
    const page = await openPage(await contextFor(user), suite.server, '/product');
    await page.fill('[name=title]', 'Typed before the route changed');
    await page.evaluate(() => {
      const old = document.querySelector('#product-42');
      const fresh = document.createElement('form');
      fresh.id = 'product-42';
      fresh.innerHTML = '<input name="title" value="Desk">';
      old?.replaceWith(fresh);
    });
    await waitUntil(
      'the replacement form restored',
      async () => (await page.inputValue('[name=title]')) === 'Typed before the route changed',
    );
  });
});

describe('contenteditable drafts', () => {
  it('restores formatting but never active content from a tampered draft', async () => {
    const page = await openPage(await contextFor(user), suite.server, '/product');
    await page.click('[data-autosave-field=bio]');
    await page.keyboard.type('x');
    await page.evaluate(() => {
      const key = Object.keys(localStorage).find((candidate) => candidate.endsWith('\u001fbio'));
      if (!key) throw new Error('no bio draft');
      localStorage.setItem(key, JSON.stringify('<b>bold</b><img src="x" onerror="window.hacked = true">'));
    });
    await page.reload();
    await page.waitForSelector('[data-autosave-notice]');
    await page.waitForTimeout(200);
    expect(await page.evaluate(() => (window as { hacked?: boolean }).hacked)).toBeUndefined();
    expect(await page.textContent('[data-autosave-field=bio]')).toBe('bold');
    expect(await page.$('[data-autosave-field=bio] [onerror]')).toBeNull();
  });
});

describe('storage problems', () => {
  /**
   * The product draft on the server once it holds `notes`. A debounce (150 ms) can pass between two
   * fills on a loaded machine: the first draft may hold the title only, the notes coming a sync later.
   */
  const serverDraftWithNotes = (notes: string) =>
    waitUntil('the draft with the notes on the server', () => {
      const candidate = suite.server.draftsOf(user).get('product-42');
      return JSON.stringify(candidate?.data ?? null).includes(`"notes":${JSON.stringify(notes)}`)
        ? candidate
        : undefined;
    });

  it('reports a full storage in words and keeps saving (to memory and the server)', async () => {
    const page = await openPage(await contextFor(user), suite.server, '/product');
    await page.evaluate(() => {
      const chunk = 'x'.repeat(256 * 1024);
      for (let index = 0; ; index += 1) {
        try {
          localStorage.setItem(`junk-${index}`, chunk);
        } catch {
          break;
        }
      }
      for (let index = 0; ; index += 1) {
        try {
          localStorage.setItem(`junk-small-${index}`, 'y'.repeat(64));
        } catch {
          break;
        }
      }
    });
    await page.fill('[name=title]', 'Typed into a full storage');
    await page.fill('[name=notes]', 'still typing');
    const status = await statusOf(page);
    expect(status.state).toBe('error');
    expect(status.text).toMatch(/full/);
    expect(await page.inputValue('[name=notes]')).toBe('still typing');
    const draft = await serverDraftWithNotes('still typing');
    expect(draft.data).toMatchObject({ title: 'Typed into a full storage', notes: 'still typing' });
  });

  it('says plainly when storage is blocked, keeps typing in the tab and on the server, and restores from there', async () => {
    const context = await contextFor(user);
    // What Chromium does where storage is blocked (cookies blocked for the site, some sandboxes):
    // the localStorage getter itself throws.
    await context.addInitScript(() => {
      Object.defineProperty(window, 'localStorage', {
        configurable: true,
        get() {
          throw new DOMException('Access is denied for this document.', 'SecurityError');
        },
      });
    });
    const page = await openPage(context, suite.server, '/product');
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.fill('[name=title]', 'Typed with storage blocked');
    await page.fill('[name=notes]', 'kept in this tab');
    const status = await statusOf(page);
    expect(status.state).toBe('error');
    expect(status.text).toBe('Storage is blocked: changes are kept only in this tab');
    expect(await page.inputValue('[name=notes]')).toBe('kept in this tab');
    const draft = await serverDraftWithNotes('kept in this tab');
    expect(draft.data).toMatchObject({ title: 'Typed with storage blocked', notes: 'kept in this tab' });
    // Nothing on this device: the next page restores the server's copy, and says where it came from.
    await page.reload();
    await page.waitForSelector('[data-autosave-notice]');
    expect(await page.inputValue('[name=title]')).toBe('Typed with storage blocked');
    expect(await page.textContent('[data-autosave-notice]')).toContain('saved on another device');
    expect(errors).toEqual([]);
  });
});

describe('submitting', () => {
  it('keeps the draft when the submit fails validation, and clears it here and on the server once accepted', async () => {
    const context = await contextFor(user);
    const page = await openPage(context, suite.server, '/product');
    await page.fill('[name=title]', 'Submitted title');
    await page.evaluate(() => window.autoSaveService?.syncWithBackend());
    await waitUntil('the draft on the server', () => suite.server.draftsOf(user).get('product-42'));

    suite.server.submitOutcome = 'reject';
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    await page.waitForSelector('[data-autosave-notice]');
    expect(await page.inputValue('[name=title]')).toBe('Submitted title');
    expect((await localKeys(page)).some((key) => key.includes(':m:product-42'))).toBe(true);

    suite.server.submitOutcome = 'accept';
    await Promise.all([page.waitForURL(/after-submit/), page.click('button[type=submit]')]);
    expect(suite.server.submits.at(-1)?.fields.title).toBe('Submitted title');
    await waitUntil('the server draft deleted', () => !suite.server.draftsOf(user).has('product-42'));
    expect((await localKeys(page)).some((key) => key.includes('product-42') && !key.includes(':p:'))).toBe(
      false,
    );
    await page.goto(suite.server.url('/product'));
    expect(await page.inputValue('[name=title]')).toBe('Desk');
  });
});

it('uses the fast options in these tests (guards the fixture)', () => {
  expect(FAST_OPTIONS.debounceDelay).toBeLessThan(1000);
});
