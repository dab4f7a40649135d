/**
 * The value-setting path of every field kind (field-values.ts writeFieldValue), run in Chromium:
 * the unit tests have no DOM, and what is under test is the DOM's own behaviour (a prototype's
 * setter, a checkbox's activation, the order of events). field-values.ts is bundled alone into a
 * blank page; a stand-in for React's value tracker (an own `value`/`checked` accessor on the
 * element that records what script sets through it) shows which setter a write went through.
 */
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchBrowser } from '../../support/browser.js';

const FORM = `<form id="f">
  <input name="title" value="Desk"><input name="qty" type="number" value="3"><input name="due" type="date" value="2026-01-15">
  <textarea name="notes">Hello</textarea>
  <select name="size"><option value="s">S</option><option value="m" selected>M</option><option value="l">L</option></select>
  <select name="colors" multiple><option value="red" selected>red</option><option value="green">green</option><option value="blue">blue</option></select>
  <input type="checkbox" name="agree">
  <input type="checkbox" name="tags" value="a" checked><input type="checkbox" name="tags" value="b"><input type="checkbox" name="tags" value="c">
  <input type="radio" name="plan" value="free" checked><input type="radio" name="plan" value="pro">
  <div contenteditable="true" data-autosave-field="bio"></div>
</form>`;

/** Runs in the page: the harness the tests drive. Plain JavaScript (see bench/client.bench.ts). */
const HARNESS = `
for (const type of ['click', 'input', 'change'])
  document.addEventListener(type, (event) => {
    const target = event.target;
    const box = target.type === 'checkbox' || target.type === 'radio';
    window.events.push(type + ':' + (target.name || target.dataset.autosaveField) + (box ? '=' + target.value : ''));
  });
window.harness = {
  reset(html) {
    document.body.innerHTML = html;
    window.events = [];
    window.tracked = [];
    window.steps = [];
    // A stand-in for React's tracker: an own accessor that records what is set through it.
    for (const field of document.querySelectorAll('input, textarea, select')) {
      const property = field.type === 'checkbox' || field.type === 'radio' ? 'checked' : 'value';
      const native = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(field), property);
      Object.defineProperty(field, property, {
        configurable: true,
        get() { return native.get.call(this); },
        set(value) { window.tracked.push(field.name + '=' + value); native.set.call(this, value); },
      });
    }
  },
  write(name, value) {
    const form = document.getElementById('f');
    const element = form.querySelector('[name="' + name + '"], [data-autosave-field="' + name + '"]');
    const field = { element, kind: FieldValues.fieldKindOf(element), scope: { element: form } };
    const changed = FieldValues.writeFieldValue(field, value, (step) => window.steps.push(step));
    return { changed, kind: field.kind, value: FieldValues.readFieldValue(field), steps: window.steps.length };
  },
  runSteps() {
    for (const step of window.steps.splice(0)) step();
  },
  read(name) {
    const form = document.getElementById('f');
    const element = form.querySelector('[name="' + name + '"], [data-autosave-field="' + name + '"]');
    return FieldValues.readFieldValue({ element, kind: FieldValues.fieldKindOf(element), scope: { element: form } });
  },
};`;

let browser: Browser;
let page: Page;

beforeAll(async () => {
  const bundled = await build({
    entryPoints: ['packages/steadfast/src/client/field-values.ts'],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: 'FieldValues',
    target: 'chrome120',
    logLevel: 'warning',
  });
  browser = await launchBrowser();
  page = await browser.newPage();
  await page.setContent('<!doctype html><body></body>');
  await page.addScriptTag({ content: bundled.outputFiles[0]?.text ?? '' });
  await page.addScriptTag({ content: HARNESS });
});

afterAll(async () => {
  await browser?.close();
});

beforeEach(async () => {
  await page.evaluate(`harness.reset(${JSON.stringify(FORM)})`);
});

interface Written {
  changed: boolean;
  kind: string;
  value: unknown;
  steps: number;
}

const write = (name: string, value: unknown) =>
  page.evaluate(`harness.write(${JSON.stringify(name)}, ${JSON.stringify(value)})`) as Promise<Written>;
const runSteps = () => page.evaluate('harness.runSteps()');
const read = (name: string) => page.evaluate(`harness.read(${JSON.stringify(name)})`);
const events = () => page.evaluate('window.events') as Promise<string[]>;
const tracked = () => page.evaluate('window.tracked') as Promise<string[]>;

describe('writeFieldValue', () => {
  for (const [name, value] of [
    ['title', 'Standing desk'],
    ['qty', '12'],
    ['due', '2026-12-24'],
    ['notes', 'Line one\nLine two'],
    ['size', 'l'],
  ] as const) {
    it(`${name}: shows the value at once, then in its step sets it past the element's own accessor and fires input and change`, async () => {
      expect(await write(name, value)).toEqual({
        changed: true,
        kind: name === 'size' ? 'select' : 'value',
        value,
        steps: 1,
      });
      expect(await events()).toEqual([]);
      await runSteps();
      expect(await read(name)).toBe(value);
      expect(await events()).toEqual([`input:${name}`, `change:${name}`]);
      // Nothing went through the element's own accessor: React's tracker would still hold the old
      // value, so the input event reads as a change.
      expect(await tracked()).toEqual([]);
    });
  }

  it('a value the field already shows costs no step and fires nothing', async () => {
    expect((await write('title', 'Desk')).changed).toBe(false);
    expect((await write('size', 'm')).changed).toBe(false);
    expect((await write('colors', ['red'])).changed).toBe(false);
    expect((await write('tags', ['a'])).changed).toBe(false);
    expect((await write('plan', 'free')).changed).toBe(false);
    expect(await page.evaluate('window.steps.length')).toBe(0);
  });

  it('a step sets its value again before its events: a framework that rendered its own state in between does not win', async () => {
    await write('title', 'Standing desk');
    // A framework's render between two steps writes its state back through the element.
    await page.evaluate(`document.querySelector('[name=title]').value = 'Desk'`);
    await runSteps();
    expect(await read('title')).toBe('Standing desk');
    expect(await events()).toEqual(['input:title', 'change:title']);
  });

  it('multi-select: selects exactly the stored options, one input and change on the select', async () => {
    expect(await write('colors', ['green', 'blue'])).toMatchObject({ changed: true, kind: 'multiple' });
    expect(await read('colors')).toEqual(['green', 'blue']);
    await page.evaluate(`document.querySelector('[name=colors]').options[0].selected = true`);
    await runSteps();
    expect(await read('colors')).toEqual(['green', 'blue']);
    expect(await events()).toEqual(['input:colors', 'change:colors']);
  });

  it('a lone checkbox: checked past its own accessor, then click, input and change, and it stays checked', async () => {
    expect(await write('agree', true)).toMatchObject({ changed: true, kind: 'checkbox', value: true });
    await runSteps();
    // The click is a plain Event: a MouseEvent would run the box's activation and toggle it back.
    expect(await read('agree')).toBe(true);
    expect(await events()).toEqual(['click:agree=on', 'input:agree=on', 'change:agree=on']);
    expect(await tracked()).toEqual([]);
  });

  it('a checkbox group: each box that moves gets its own step and events, in order', async () => {
    expect(await write('tags', ['b', 'c'])).toMatchObject({ changed: true, value: ['b', 'c'], steps: 3 });
    await runSteps();
    expect(await read('tags')).toEqual(['b', 'c']);
    expect(await events()).toEqual([
      'click:tags=a',
      'input:tags=a',
      'change:tags=a',
      'click:tags=b',
      'input:tags=b',
      'change:tags=b',
      'click:tags=c',
      'input:tags=c',
      'change:tags=c',
    ]);
  });

  it('a radio group: events on the chosen radio only; choosing none unchecks without any event', async () => {
    expect(await write('plan', 'pro')).toMatchObject({
      changed: true,
      kind: 'radio',
      value: 'pro',
      steps: 1,
    });
    await runSteps();
    expect(await events()).toEqual(['click:plan=pro', 'input:plan=pro', 'change:plan=pro']);
    expect(await write('plan', '')).toMatchObject({ changed: true, value: '', steps: 0 });
    expect(await events()).toHaveLength(3);
  });

  it('a contenteditable region: sanitized HTML, then input only (it has no change)', async () => {
    expect(await write('bio', '<b>Hi</b><img src=x onerror="window.hacked = 1">')).toMatchObject({
      changed: true,
      kind: 'html',
    });
    await runSteps();
    expect(await read('bio')).toContain('Hi');
    expect(await read('bio')).not.toContain('onerror');
    expect(await events()).toEqual(['input:bio']);
    expect(await page.evaluate('window.hacked')).toBeUndefined();
  });

  it('ignores a stored value of the wrong shape rather than coercing it', async () => {
    expect((await write('title', ['a'])).changed).toBe(false);
    expect((await write('colors', 'red')).changed).toBe(false);
    expect((await write('bio', true)).changed).toBe(false);
    expect(await page.evaluate('window.steps.length')).toBe(0);
    expect(await read('title')).toBe('Desk');
  });
});
