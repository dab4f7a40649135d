/**
 * `{"bench":"client",…}`: the browser service against garlic.js (with jQuery), on the same pages,
 * in the same Chromium, in the same run (issue 8).
 *
 * Pages are served cross-origin isolated (COOP/COEP) so performance.now() has 5 µs steps.
 * A keystroke is the events a real one fires (keydown, keypress, beforeinput, the value change,
 * input, keyup), dispatched to random text fields of the form and timed as a batch, minus the same
 * batch sent to an input outside the form right after. Right after each batch, before anything can
 * yield, the last keystroke's value must already be in localStorage (the local write is inside the
 * measured cost). Restore is the library's start on a page whose every field has a draft: warm
 * (storage touched before the timing) and cold (the page's first storage access inside it).
 * Each figure is the median over the runs. Usage: `tsx bench/client.bench.ts [runs]`.
 *
 * `bare` is the floor on the same pages in the same run: a few lines that write one storage key per
 * field on input and, on restore, read each key, set the value and fire `input` — no exclusions, no
 * user scope, no sync, no notice. What Steadfast costs above it is its own; the rest is the browser's.
 *
 * The `…_thread_ms_…` figures are the same windows of the same runs in main-thread CPU time: the
 * harness marks each window (performance.mark, outside the timed code) and a Chromium trace of only
 * those marks gives the thread clock at each. Wall time also counts the time the page's thread waits
 * for a core, and on a small or busy machine that is most of a keystroke batch: right after a page's
 * load the browser process is still busy with it (and with the page closed before) and takes turns
 * on the cores, so a batch timed sooner after its page loaded waits longer (issue 17: garlic's slow
 * start on 1,000 fields lets its batch begin after that work). Thread time leaves the waiting out.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { BrowserContext, Page } from 'playwright-core';
import { AutosaveTestServer, BUNDLE_PATH } from '../test/support/autosave-test-server.js';
import { launchBrowser } from '../test/support/browser.js';
import { median, printResult, round } from './support.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const JQUERY = path.join(root, 'node_modules', 'jquery', 'dist', 'jquery.min.js');
const GARLIC = path.join(root, 'node_modules', 'garlicjs', 'dist', 'garlic.min.js');
// Fewer than 5 runs only for quick local checks; the reported figure uses the default.
const RUNS = Math.max(1, Number(process.argv[2] ?? 5) || 5);
const KEYSTROKES = 1000;
const TEXTAREA_KEYSTROKES = 500;
const TEXTAREA_BYTES = 20 * 1024;

type Library = 'steadfast' | 'garlic' | 'bare';
const LIBRARIES: readonly Library[] = ['steadfast', 'garlic', 'bare'];
/** The floor (see above), run inline in the page. */
const BARE_LIBRARY = `
window.bare = (form) => {
  const elements = form.elements;
  for (let i = 0; i < elements.length; i += 1) {
    const field = elements[i];
    const raw = localStorage.getItem('bare:' + field.name);
    if (raw === null) continue;
    const value = JSON.parse(raw);
    if (field.value !== value) {
      field.value = value;
      field.dispatchEvent(new Event('input', { bubbles: true }));
    }
  }
  form.addEventListener('input', (event) =>
    localStorage.setItem('bare:' + event.target.name, JSON.stringify(event.target.value)));
};`;

/**
 * Runs inside the page. Plain JavaScript in a string: functions handed to page.evaluate would be
 * serialised after tsx's transform, which may reference helpers the page does not have.
 */
const HARNESS = `
window.bench = (() => {
  const keystroke = (element, value) => {
    element.dispatchEvent(new KeyboardEvent('keydown', { key: 'a', bubbles: true, cancelable: true }));
    element.dispatchEvent(new KeyboardEvent('keypress', { key: 'a', bubbles: true, cancelable: true }));
    element.dispatchEvent(new InputEvent('beforeinput', { data: 'a', inputType: 'insertText', bubbles: true, cancelable: true }));
    element.value = value;
    element.dispatchEvent(new InputEvent('input', { data: 'a', inputType: 'insertText', bubbles: true }));
    element.dispatchEvent(new KeyboardEvent('keyup', { key: 'a', bubbles: true, cancelable: true }));
  };
  const fields = () => Array.from(document.querySelectorAll('#bench-form input[type=text], #bench-form textarea'));
  let seed = 12345;
  const random = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  const batch = (targets, prefix, base, window) => {
    performance.mark(window + ':start');
    const start = performance.now();
    for (let i = 0; i < targets.length; i += 1) keystroke(targets[i], base + prefix + i);
    const elapsed = performance.now() - start;
    performance.mark(window + ':end');
    return elapsed;
  };
  const inStorage = (needle) => {
    for (let i = 0; i < localStorage.length; i += 1) {
      const value = localStorage.getItem(localStorage.key(i));
      if (value !== null && value.includes(needle)) return true;
    }
    return false;
  };
  return {
    init(library) {
      if (library === 'steadfast') {
        window.service = Steadfast.createAutoSaveService({ logLevel: 'warn' });
        window.service.start();
      } else if (library === 'bare') {
        window.bare(document.getElementById('bench-form'));
      } else {
        jQuery('#bench-form').garlic();
      }
    },
    keystrokes(count, tag, base) {
      const all = fields();
      const targets = Array.from({ length: count }, () => all[Math.floor(random() * all.length)]);
      const outside = Array.from({ length: count }, () => document.getElementById('outside'));
      const form = batch(targets, tag + '-', base, tag + ':form');
      const stored = inStorage(tag + '-' + (count - 1));
      const baseline = batch(outside, tag + '-o', base, tag + ':outside');
      return { perKeystroke: (form - baseline) / count, stored };
    },
    singles(count, tag) {
      const all = fields();
      const times = [];
      for (let i = 0; i < count; i += 1) {
        const target = all[Math.floor(random() * all.length)];
        const start = performance.now();
        keystroke(target, tag + '-' + i);
        times.push(performance.now() - start);
      }
      times.sort((a, b) => a - b);
      return times[Math.min(times.length - 1, Math.ceil(times.length * 0.99) - 1)];
    },
    fillAll(tag) {
      fields().forEach((field, i) => keystroke(field, tag + '-' + i));
    },
    async restore(library, warm, tag) {
      if (warm) localStorage.getItem('warm-up');
      performance.mark(tag + ':start');
      const start = performance.now();
      this.init(library);
      // Until the microtasks the restore queued have run (the service sets each field again and
      // fires its events in steps, so a framework renders between them): a message is a task, so
      // it waits for them all, and costs far less than a timer.
      await new Promise((done) => {
        const channel = new MessageChannel();
        channel.port1.onmessage = done;
        channel.port2.postMessage(0);
      });
      const elapsed = performance.now() - start;
      performance.mark(tag + ':end');
      const all = fields();
      const restored = all.filter((field) => field.value !== '').length;
      return { elapsed, restored, total: all.length };
    },
    isolated: () => self.crossOriginIsolated === true,
  };
})();`;

function formPage(fieldCount: number): string {
  const fields = Array.from({ length: fieldCount }, (_, i) => `<input type="text" name="f${i}">`).join('');
  return `<form id="bench-form" action="/bench-target" method="post">${fields}</form>
<input type="text" id="outside">`;
}

function textareaPage(): string {
  return `<form id="bench-form" action="/bench-target" method="post"><textarea name="body"></textarea></form>
<textarea id="outside"></textarea>`;
}

function headFor(library: Library): string {
  const scripts = {
    steadfast: '<script src="/auto-save-service.js" data-autosave-manual></script>',
    garlic: '<script src="/jquery.js"></script><script src="/garlic.js"></script>',
    bare: `<script>${BARE_LIBRARY}</script>`,
  }[library];
  return `${scripts}<script>${HARNESS}</script>`;
}

function ensureBundle(): void {
  if (!['', '.gz', '.br'].every((suffix) => existsSync(BUNDLE_PATH + suffix)))
    execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'build-client.ts')], {
      stdio: 'inherit',
    });
}

const gzipBytes = (files: readonly string[]): number =>
  files.reduce((total, file) => total + gzipSync(readFileSync(file), { level: 9 }).length, 0);

async function open(context: BrowserContext, server: AutosaveTestServer, pathname: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(server.url(pathname));
  if (!(await page.evaluate('bench.isolated()'))) throw new Error(`${pathname} is not cross-origin isolated`);
  if (await page.evaluate('window.autoSaveService !== undefined'))
    throw new Error(`${pathname} runs a self-started Steadfast service besides the measured library`);
  return page;
}

interface Samples {
  keystroke_ms_100: number[];
  keystroke_ms_1000: number[];
  p99_ms_100: number[];
  restore_warm_ms_100: number[];
  restore_warm_ms_1000: number[];
  restore_cold_ms_100: number[];
  textarea_20kb_ms: number[];
  keystroke_thread_ms_100: number[];
  keystroke_thread_ms_1000: number[];
  restore_warm_thread_ms_100: number[];
  restore_warm_thread_ms_1000: number[];
}

const emptySamples = (): Samples => ({
  keystroke_ms_100: [],
  keystroke_ms_1000: [],
  p99_ms_100: [],
  restore_warm_ms_100: [],
  restore_warm_ms_1000: [],
  restore_cold_ms_100: [],
  textarea_20kb_ms: [],
  keystroke_thread_ms_100: [],
  keystroke_thread_ms_1000: [],
  restore_warm_thread_ms_100: [],
  restore_warm_thread_ms_1000: [],
});

/** A window the harness marked, read back from the trace once the runs are done. */
interface MarkedWindow {
  readonly samples: number[];
  readonly tag: string;
  /** Keystrokes: the form batch minus the outside batch, per keystroke; else null (one window). */
  readonly keystrokes: number | null;
}

/** Thread clock (µs) at each mark of the trace, by mark name. */
function threadClockAtMarks(trace: Buffer): Map<string, number> {
  const parsed = JSON.parse(trace.toString()) as { traceEvents?: unknown[] } | unknown[];
  const events = (Array.isArray(parsed) ? parsed : (parsed.traceEvents ?? [])) as {
    cat?: string;
    name?: string;
    tts?: number;
  }[];
  const clock = new Map<string, number>();
  for (const event of events)
    if (event.cat === 'blink.user_timing' && event.name !== undefined && event.tts !== undefined)
      clock.set(event.name, event.tts);
  return clock;
}

/** Main-thread CPU time (ms) between a window's two marks; undefined when the trace lacks either. */
function threadMs(clock: Map<string, number>, window: string): number | undefined {
  const start = clock.get(`${window}:start`);
  const end = clock.get(`${window}:end`);
  return start === undefined || end === undefined ? undefined : (end - start) / 1000;
}

async function measureRun(
  context: BrowserContext,
  server: AutosaveTestServer,
  library: Library,
  run: number,
  samples: Samples,
  marked: MarkedWindow[],
): Promise<void> {
  for (const fieldCount of [100, 1000] as const) {
    const pathname = `/${library}-${fieldCount}`;
    const page = await open(context, server, pathname);
    await page.evaluate(`bench.init(${JSON.stringify(library)})`);
    const tag = `${library}${fieldCount}r${run}`;
    const result = (await page.evaluate(`bench.keystrokes(${KEYSTROKES}, ${JSON.stringify(tag)}, '')`)) as {
      perKeystroke: number;
      stored: boolean;
    };
    if (!result.stored)
      throw new Error(`${library}: the last keystroke was not in storage right after the batch`);
    samples[fieldCount === 100 ? 'keystroke_ms_100' : 'keystroke_ms_1000'].push(result.perKeystroke);
    marked.push({
      samples: samples[fieldCount === 100 ? 'keystroke_thread_ms_100' : 'keystroke_thread_ms_1000'],
      tag,
      keystrokes: KEYSTROKES,
    });
    if (fieldCount === 100)
      samples.p99_ms_100.push((await page.evaluate(`bench.singles(1000, '${tag}s')`)) as number);
    await page.evaluate(`bench.fillAll('${tag}fill')`);
    await page.waitForTimeout(50);
    await page.close();

    for (const warm of fieldCount === 100 ? [false, true] : [true]) {
      const restorePage = await open(context, server, pathname);
      const restoreTag = `${tag}restore${warm ? 'warm' : 'cold'}`;
      const restore = (await restorePage.evaluate(
        `bench.restore(${JSON.stringify(library)}, ${warm}, ${JSON.stringify(restoreTag)})`,
      )) as {
        elapsed: number;
        restored: number;
        total: number;
      };
      if (restore.restored !== restore.total) {
        throw new Error(`${library}: restored ${restore.restored} of ${restore.total} fields`);
      }
      const key = warm
        ? fieldCount === 100
          ? 'restore_warm_ms_100'
          : 'restore_warm_ms_1000'
        : 'restore_cold_ms_100';
      samples[key].push(restore.elapsed);
      if (warm)
        marked.push({
          samples: samples[fieldCount === 100 ? 'restore_warm_thread_ms_100' : 'restore_warm_thread_ms_1000'],
          tag: restoreTag,
          keystrokes: null,
        });
      await restorePage.close();
    }
  }
  const page = await open(context, server, `/${library}-textarea`);
  await page.evaluate(`bench.init(${JSON.stringify(library)})`);
  const base = JSON.stringify('x'.repeat(TEXTAREA_BYTES));
  const textarea = (await page.evaluate(
    `bench.keystrokes(${TEXTAREA_KEYSTROKES}, '${library}ta${run}', ${base})`,
  )) as { perKeystroke: number; stored: boolean };
  if (!textarea.stored) throw new Error(`${library}: the textarea keystroke was not in storage`);
  samples.textarea_20kb_ms.push(textarea.perKeystroke);
  await page.close();
}

async function main(): Promise<void> {
  ensureBundle();
  const server = await AutosaveTestServer.start({
    crossOriginIsolated: true,
    cacheScripts: true,
    files: { '/jquery.js': JQUERY, '/garlic.js': GARLIC },
  });
  for (const library of LIBRARIES) {
    for (const fieldCount of [100, 1000]) {
      server.pages.set(`/${library}-${fieldCount}`, {
        body: formPage(fieldCount),
        head: headFor(library),
        loadsService: false,
      });
    }
    server.pages.set(`/${library}-textarea`, {
      body: textareaPage(),
      head: headFor(library),
      loadsService: false,
    });
  }
  const browser = await launchBrowser();
  const samples: Record<Library, Samples> = {
    steadfast: emptySamples(),
    garlic: emptySamples(),
    bare: emptySamples(),
  };
  const marked: MarkedWindow[] = [];
  try {
    const context = await browser.newContext();
    await context.addCookies([server.sessionCookie('bench')]);
    // One trace for the whole run, of the harness's marks only (a few hundred events): started and
    // stopped around each window, tracing would itself keep the browser process busy right then.
    await browser.startTracing(undefined, { categories: ['blink.user_timing'] });
    for (let run = 0; run < RUNS; run += 1) {
      // Alternate which library goes first so neither always meets a warmer machine.
      const order = run % 2 === 0 ? LIBRARIES : [...LIBRARIES].reverse();
      for (const library of order) await measureRun(context, server, library, run, samples[library], marked);
      process.stderr.write(`run ${run + 1}/${RUNS} done\n`);
    }
    const clock = threadClockAtMarks(await browser.stopTracing());
    for (const { samples: into, tag, keystrokes } of marked) {
      const form = threadMs(clock, keystrokes === null ? tag : `${tag}:form`);
      const outside = keystrokes === null ? 0 : threadMs(clock, `${tag}:outside`);
      if (form !== undefined && outside !== undefined) into.push((form - outside) / (keystrokes ?? 1));
    }
  } finally {
    await browser.close();
    await server.close();
  }
  const summarise = (library: Library, gzip: number) => {
    const figures: Record<string, number> = {};
    // A figure with no sample (a trace without thread clocks) is left out rather than printed as NaN.
    for (const [key, values] of Object.entries(samples[library]))
      if (values.length > 0) figures[key] = round(median(values), 4);
    return { ...figures, gzip_bytes: gzip };
  };
  printResult({
    bench: 'client',
    steadfast: {
      ...summarise('steadfast', gzipBytes([BUNDLE_PATH])),
      // What a browser downloads: the build's own gzip (zopfli) or Brotli, which both adapters send.
      served_gzip_bytes: statSync(`${BUNDLE_PATH}.gz`).size,
      served_brotli_bytes: statSync(`${BUNDLE_PATH}.br`).size,
      target_served_gzip_bytes_at_most: 10_240,
    },
    garlic: summarise('garlic', gzipBytes([GARLIC, JQUERY])),
    bare: summarise('bare', gzipSync(BARE_LIBRARY, { level: 9 }).length),
    runs: RUNS,
  });
}

await main();
