/**
 * Builds the app-state test pages from apps/ with esbuild, as an app's bundler would: the invoice
 * written with `useSavedState` from `steadfast/react` (its source, through the root tsconfig's
 * paths, which esbuild follows as vitest follows its aliases), once per React version (`react`
 * aliased to `react18`/`react19`), and the CodeMirror 6 editor. Also renders the invoice to HTML in
 * Node, for the page that hydrates it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build } from 'esbuild';
import type { ReactVersion } from '../frameworks/framework-pages.js';

const apps = path.join(path.dirname(fileURLToPath(import.meta.url)), 'apps');

export const REACT_VERSIONS: readonly ReactVersion[] = ['18', '19'];

export interface StatePages {
  /** URL path → built file, for AutosaveTestServer's `files`: `/invoice18.js`, `/invoice19.js`, `/codemirror.js`. */
  readonly files: Record<string, string>;
  /** The invoice rendered to HTML by react-dom/server, per React version. */
  readonly serverHtml: Record<ReactVersion, string>;
  dispose(): void;
}

const reactAlias = (version: ReactVersion) => ({
  react: `react${version}`,
  'react-dom': `react-dom${version}`,
});

export async function buildStatePages(): Promise<StatePages> {
  const out = mkdtempSync(path.join(tmpdir(), 'steadfast-state-pages-'));
  const files: Record<string, string> = {};
  const common: BuildOptions = { bundle: true, jsx: 'automatic', logLevel: 'warning' };
  const bundle = async (urlPath: string, entry: string, options: BuildOptions = {}): Promise<void> => {
    const outfile = path.join(out, urlPath.slice(1));
    await build({
      ...common,
      entryPoints: [path.join(apps, entry)],
      outfile,
      format: 'esm',
      platform: 'browser',
      target: 'chrome120',
      // Development builds: React reports hydration mismatches only there.
      define: { 'process.env.NODE_ENV': '"development"' },
      ...options,
    });
    files[urlPath] = outfile;
  };
  const serverHtml = {} as Record<ReactVersion, string>;
  for (const version of REACT_VERSIONS) {
    await bundle(`/invoice${version}.js`, 'react-state-app.jsx', { alias: reactAlias(version) });
    const renderer = path.join(out, `invoice${version}-ssr.cjs`);
    await build({
      ...common,
      entryPoints: [path.join(apps, 'react-state-ssr.jsx')],
      outfile: renderer,
      format: 'cjs',
      platform: 'node',
      alias: reactAlias(version),
      define: { 'process.env.NODE_ENV': '"development"' },
    });
    const { render } = createRequire(import.meta.url)(renderer) as { render: () => string };
    serverHtml[version] = render();
  }
  await bundle('/codemirror.js', 'codemirror-app.js', { define: { 'process.env.NODE_ENV': '"production"' } });
  return { files, serverHtml, dispose: () => rmSync(out, { recursive: true, force: true }) };
}
