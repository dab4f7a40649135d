/**
 * Builds the framework test pages from apps/ with esbuild, each framework's real package bundled
 * as an app would: React 18 and 19 from their npm aliases (`react` aliased to `react18`/`react19`),
 * Preact, react-hook-form, Svelte 5 compiled by `svelte/compiler`, and Vue 3's global build (which
 * compiles the page's template itself). Also renders the React form to HTML in Node, for the page
 * that hydrates it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build, type Plugin } from 'esbuild';
import { compile } from 'svelte/compiler';

const here = path.dirname(fileURLToPath(import.meta.url));
const apps = path.join(here, 'apps');
const root = path.resolve(here, '..', '..', '..');

export type ReactVersion = '18' | '19';

export interface FrameworkPages {
  /** URL path → built file, for AutosaveTestServer's `files`. */
  readonly files: Record<string, string>;
  /** The React form rendered to HTML by react-dom/server, per React version. */
  readonly serverHtml: Record<ReactVersion, string>;
  /** Removes the built files. */
  dispose(): void;
}

/** Compiles `.svelte` files with Svelte 5's own compiler (client output, production). */
const sveltePlugin: Plugin = {
  name: 'svelte',
  setup(builder) {
    builder.onLoad({ filter: /\.svelte$/ }, (args) => {
      const { js } = compile(readFileSync(args.path, 'utf8'), { filename: args.path, generate: 'client' });
      return { contents: js.code, loader: 'js', resolveDir: path.dirname(args.path) };
    });
  },
};

const reactAlias = (version: ReactVersion) => ({
  react: `react${version}`,
  'react-dom': `react-dom${version}`,
});

export async function buildFrameworkPages(): Promise<FrameworkPages> {
  const out = mkdtempSync(path.join(tmpdir(), 'steadfast-framework-pages-'));
  const files: Record<string, string> = {
    '/vue.global.js': path.join(root, 'node_modules', 'vue', 'dist', 'vue.global.prod.js'),
  };
  const bundle = async (
    urlPath: string,
    entry: string,
    options: BuildOptions & { development?: boolean } = {},
  ): Promise<void> => {
    const { development, ...rest } = options;
    const outfile = path.join(out, urlPath.slice(1));
    await build({
      entryPoints: [path.join(apps, entry)],
      outfile,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'chrome120',
      jsx: 'automatic',
      // Development builds only where their warnings are the point (hydration mismatches).
      define: { 'process.env.NODE_ENV': development ? '"development"' : '"production"' },
      logLevel: 'warning',
      ...rest,
    });
    files[urlPath] = outfile;
  };
  const serverHtml = {} as Record<ReactVersion, string>;
  for (const version of ['18', '19'] as const) {
    await bundle(`/react${version}.js`, 'react-app.jsx', { alias: reactAlias(version) });
    await bundle(`/react${version}-dev.js`, 'react-app.jsx', {
      alias: reactAlias(version),
      development: true,
    });
    await bundle(`/react-hook-form${version}.js`, 'react-hook-form-app.jsx', { alias: reactAlias(version) });
    // The server side: CommonJS for Node (react-dom/server requires Node's own modules).
    const renderer = path.join(out, `react${version}-ssr.cjs`);
    await build({
      entryPoints: [path.join(apps, 'react-ssr.jsx')],
      outfile: renderer,
      bundle: true,
      format: 'cjs',
      platform: 'node',
      jsx: 'automatic',
      alias: reactAlias(version),
      define: { 'process.env.NODE_ENV': '"development"' },
      logLevel: 'warning',
    });
    const { render } = createRequire(import.meta.url)(renderer) as { render: () => string };
    serverHtml[version] = render();
  }
  await bundle('/preact.js', 'preact-app.jsx', { jsxImportSource: 'preact' });
  await bundle('/vue-app.js', 'vue-app.js');
  await bundle('/svelte.js', 'svelte-app.js', { plugins: [sveltePlugin], conditions: ['svelte', 'browser'] });
  return { files, serverHtml, dispose: () => rmSync(out, { recursive: true, force: true }) };
}
