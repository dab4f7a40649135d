/**
 * The setup every Chromium test file shares: one browser and one AutosaveTestServer for the file,
 * a fresh browser context per use, closed after each test. Call it at the top of the file; it
 * registers the hooks and answers a handle whose `browser` and `server` are there once the file's
 * tests run.
 *
 * @example
 * const suite = useBrowserSuite({ setup: (server) => server.pages.set('/form', { body: FORM }) });
 * it('restores', async () => { const page = await (await suite.newContext()).newPage(); … });
 */
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { AutosaveTestServer, type AutosaveTestServerOptions } from './autosave-test-server.js';
import { launchBrowser } from './browser.js';

/** Files built for the pages (bundled apps), served as they are and removed after the file. */
export interface BuiltFiles {
  readonly files: Readonly<Record<string, string>>;
  dispose(): void;
}

export interface BrowserSuiteOptions<Built extends BuiltFiles> {
  /** Builds what the pages load, before the server starts (its `files` are served). */
  readonly build?: () => Promise<Built>;
  readonly serverOptions?: AutosaveTestServerOptions;
  /** Registers the file's pages once the server runs. */
  readonly setup?: (server: AutosaveTestServer, built: Built | undefined) => void;
}

export interface BrowserSuite<Built extends BuiltFiles> {
  readonly browser: Browser;
  readonly server: AutosaveTestServer;
  /** What `build` made; undefined without one. */
  readonly built: Built | undefined;
  /** A new context, signed in as `user` when one is given; closed after the test. */
  newContext(user?: string): Promise<BrowserContext>;
}

export function useBrowserSuite<Built extends BuiltFiles = BuiltFiles>(
  options: BrowserSuiteOptions<Built> = {},
): BrowserSuite<Built> {
  let browser: Browser | undefined;
  let server: AutosaveTestServer | undefined;
  let built: Built | undefined;
  const contexts: BrowserContext[] = [];
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the browser suite's ${what} is used before beforeAll ran`);
    return value;
  };

  beforeAll(async () => {
    built = await options.build?.();
    server = await AutosaveTestServer.start({
      ...options.serverOptions,
      ...(built ? { files: { ...options.serverOptions?.files, ...built.files } } : {}),
    });
    browser = await launchBrowser();
    options.setup?.(server, built);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    built?.dispose();
  });

  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
  });

  return {
    get browser() {
      return started(browser, 'browser');
    },
    get server() {
      return started(server, 'server');
    },
    get built() {
      return built;
    },
    async newContext(user) {
      const context = await started(browser, 'browser').newContext();
      contexts.push(context);
      if (user !== undefined) await context.addCookies([started(server, 'server').sessionCookie(user)]);
      return context;
    },
  };
}
