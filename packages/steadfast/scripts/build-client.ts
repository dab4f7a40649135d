/**
 * Bundles the browser service into one script, `dist/auto-save-service.js` (IIFE, minified,
 * Chrome 120+), with a source map and the same bytes compressed once and for all, as the adapters
 * send them to a browser that accepts one: `auto-save-service.js.br` (Brotli at its best) and
 * `auto-save-service.js.gz` (gzip by zopfli); prints the sizes.
 * Fails when the bundle would pull in a package such as zod (the client may only `import type` from
 * the protocol's schemas); warns when the served gzip is past the 10 KB budget (DESIGN.md).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync, constants as zlibConstants } from 'node:zlib';
import { gzipAsync } from '@gfx/zopfli';
import { build } from 'esbuild';
import { minify } from 'terser';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outfile = path.join(root, 'dist', 'browser', 'auto-save-service.js');
const mapFile = `${outfile}.map`;
/**
 * Chrome's explicit compile hint, kept as the script's first line: compile every function eagerly
 * while the script streams in (off the main thread) instead of lazily on first call, and the service
 * calls most of them on start. Measured on restore: ~25% less main-thread time on a 100-field page.
 */
const COMPILE_HINT = '//# allFunctionsCalledOnLoad';
const GZIP_BUDGET_BYTES = 10 * 1024;
/** zopfli's passes: past ~15 a 30 KB script gains a few bytes for seconds of build. */
const ZOPFLI_ITERATIONS = 15;
/**
 * Must not contain a name the code reads from the DOM, the protocol (SyncChange, Draft, responses),
 * persisted entries, options or the public API: those would be renamed on one side only.
 */
const INTERNAL_PROPERTIES = new RegExp(
  `^(${[
    'metaWrittenAt',
    'editedFields',
    'restored',
    'originalValues',
    'version',
    'storageKey',
    'scope',
    'element',
    'readMeta',
    'writeMeta',
    'readFields',
    'fieldKey',
    'metaKey',
    'clearForm',
    'stateKey',
    'readState',
    'writeState',
    'purgeExpired',
    'clearScope',
    'ownKeys',
    'prefix',
    'markPending',
    'forgetMarker',
    'hasWork',
    'outbox',
    'assignPending',
    'acknowledge',
    'reconcile',
    'park',
    'parked',
    'lastAssignedId',
    'hasDamagedNumbering',
    'resetNumbering',
    'invalidate',
    'scopeOf',
    'bindingOf',
    'fieldsOf',
    'liveScopes',
    'savedToServer',
    'render',
    'poke',
    'formKey',
    'staleFields',
    'applyStale',
    'discard',
    'evictedDrafts',
    'keptInMemoryOnly',
    'retryAfterMs',
    'ttlMs',
    'onProblem',
    'since',
    'csrfToken',
    'actionAttribute',
    'pageUrl',
    'optedOut',
    'read',
    'write',
    'response',
    'section',
    'meta',
    'source',
    'tag',
    'generation',
    'binding',
    'recheckExclusion',
    'cancel',
    'run',
    'baseMs',
    'maxMs',
    'listen',
    'listenedKeys',
    'notify',
    // Not the merge's names (MergeResult, MergeConflict): the merge is one function shared with the
    // server, and test/unit/protocol/three-way-merge.test.ts holds the browser build to the very
    // answers of the Node import, names included.
    // The service's layers (service-core.ts to auto-save-service.ts): what they share, protected.
    'settings',
    'doc',
    'win',
    'clock',
    'http',
    'logger',
    'indicator',
    'debouncer',
    'stateListeners',
    'notices',
    'store',
    'queue',
    'registry',
    'userScope',
    'syncEnabled',
    'started',
    'signedOut',
    'storageWarning',
    'canSave',
    'noteChange',
    'showLocalStatus',
    'onStorageProblem',
    'logSavedForms',
    'fetchDraft',
    'getJson',
    'onQuiet',
    'beginSending',
    'stopSending',
    'onVisibilityChange',
    'onPageHide',
    'pageShown',
    'sync',
    'mergeStale',
    'applyField',
    'hold',
    'restoring',
    'steps',
    'holdUntil',
    'beginRestoring',
    'writeField',
    'restoreScope',
    'restoreField',
    'reapplyDrafts',
    'showOtherTabEdit',
    'resetScope',
    'observeForms',
    'stopObserving',
  ].join('|')})$`,
);

const result = await build({
  entryPoints: [path.join(root, 'src', 'client', 'browser-entry.ts')],
  outfile,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'chrome120',
  minify: true,
  sourcemap: 'external',
  write: false,
  metafile: true,
  legalComments: 'none',
  // Internal property names (never DOM, wire or public API names) are shortened: they are most of
  // what is left after minifying, and the bundle has a 10 KB gzip budget.
  mangleProps: INTERNAL_PROPERTIES,
  logLevel: 'warning',
});

const bundled = Object.keys(result.metafile.inputs);
const leaked = bundled.filter((input) => input.includes('node_modules'));
if (leaked.length > 0) throw new Error(`the client bundle must not contain packages: ${leaked.join(', ')}`);

const textOf = (suffix: string): string => {
  const file = result.outputFiles.find((output) => output.path.endsWith(suffix));
  if (file === undefined) throw new Error(`esbuild wrote no ${suffix}`);
  return file.text;
};
// terser after esbuild: its repeated compress passes (inlining, joining statements and conditions)
// take about 3% more off the gzip size than esbuild's single pass. The source map is carried through.
const minified = await minify(textOf('.js'), {
  ecma: 2020,
  compress: { passes: 3, hoist_funs: true },
  mangle: true,
  format: { preamble: COMPILE_HINT, comments: false },
  // The sources travel inside the map: the package ships dist/ only, not src/.
  sourceMap: { content: textOf('.js.map'), url: path.basename(mapFile), includeSources: true },
});
if (minified.code === undefined || typeof minified.map !== 'string')
  throw new Error('terser produced no output');
mkdirSync(path.dirname(outfile), { recursive: true });
writeFileSync(outfile, minified.code);
writeFileSync(mapFile, minified.map);
// Types for `import 'steadfast/auto-save-service.js'` (a bundler including the script as is): the
// global it sets. Typed ES-module access to the client is `steadfast/client`.
writeFileSync(
  outfile.replace(/\.js$/, '.d.ts'),
  `import type { AutoSaveService } from '../client/index.js';\ndeclare global {\n  interface Window {\n    autoSaveService: AutoSaveService;\n  }\n}\nexport {};\n`,
);

const code = Buffer.from(minified.code);
// zopfli writes an ordinary gzip stream, about 2.5% smaller than zlib's best: it searches far
// longer, which the build can afford once and a server compressing each response could not.
const served = await gzipAsync(code, { numiterations: ZOPFLI_ITERATIONS });
writeFileSync(`${outfile}.gz`, served);
const brotli = brotliCompressSync(code, {
  params: {
    [zlibConstants.BROTLI_PARAM_QUALITY]: zlibConstants.BROTLI_MAX_QUALITY,
    [zlibConstants.BROTLI_PARAM_MODE]: zlibConstants.BROTLI_MODE_TEXT,
    [zlibConstants.BROTLI_PARAM_SIZE_HINT]: code.length,
  },
});
writeFileSync(`${outfile}.br`, brotli);
console.log(
  `dist/browser/auto-save-service.js: ${code.length} bytes minified, ${served.length} bytes gzip as served` +
    ` (.js.gz, zopfli; ${gzipSync(code, { level: 9 }).length} with zlib -9), ${brotli.length} bytes Brotli (.js.br)`,
);
// Reported, not fatal: the budget is a bench target (issue 8), and a red build would block every test.
if (served.length > GZIP_BUDGET_BYTES)
  console.warn(`warning: over the ${GZIP_BUDGET_BYTES}-byte gzip budget`);
