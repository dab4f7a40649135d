/**
 * The package as npm would publish it: `npm pack` of packages/steadfast (built by `npm run build`,
 * which `npm test` runs first), its file list, and the two linters of published packages run on
 * the tarball itself, offline: publint (package.json against the packed files) and
 * Are the Types Wrong (every entry point's types as TypeScript resolves them).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, LIBRARY_DIR, manifest, REPO_ROOT } from './library-package.js';

interface PackedFile {
  readonly path: string;
  readonly size: number;
}

interface PackResult {
  readonly filename: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly entryCount: number;
  readonly files: readonly PackedFile[];
}

/** The part of `attw --format json` read here. */
interface AttwReport {
  readonly analysis: {
    readonly types: unknown;
    readonly entrypoints: Readonly<Record<string, unknown>>;
    readonly problems?: ReadonlyArray<{
      readonly kind: string;
      readonly entrypoint?: string;
      readonly resolutionKind?: string;
    }>;
  };
}

/**
 * The package is ESM only: a `require()` of it (node16 from CommonJS) and the pre-exports
 * resolution (node10) are not supported, which is what attw's `esm-only` profile leaves out.
 */
const ESM_ONLY_IGNORED_RESOLUTIONS = ['node10', 'node16-cjs'];

/**
 * Entry points attw may skip. None: the browser script (a classic script setting
 * `window.autoSaveService`) ships a declaration of that global.
 */
const UNTYPED_ENTRY_POINTS: string[] = [];

const kB = (bytes: number) => (bytes / 1000).toFixed(1);

let packDir: string;
let tarball: string;
let packed: PackResult;

beforeAll(() => {
  assertBuilt();
  packDir = mkdtempSync(path.join(tmpdir(), 'steadfast-pack-'));
  const output = execFileSync('npm', ['pack', '--json', '--pack-destination', packDir], {
    cwd: LIBRARY_DIR,
    encoding: 'utf8',
  });
  const results = JSON.parse(output) as PackResult[];
  expect(results).toHaveLength(1);
  packed = results[0] as PackResult;
  tarball = path.join(packDir, packed.filename);
  console.log(
    `steadfast tarball: ${packed.entryCount} files, ${kB(packed.size)} kB packed, ` +
      `${kB(packed.unpackedSize)} kB unpacked (${packed.filename})`,
  );
});

afterAll(() => {
  if (packDir) rmSync(packDir, { recursive: true, force: true });
});

describe('the packed steadfast tarball', () => {
  it('holds only dist/** (JavaScript, declarations, source maps, the compressed script), package.json, README.md and LICENSE', () => {
    const paths = packed.files.map((file) => file.path);
    const compiled = /^dist\/.+\.(js|js\.map|d\.ts|d\.ts\.map)$/;
    const built = [
      'package.json',
      'README.md',
      'LICENSE',
      'dist/browser/auto-save-service.js.gz',
      'dist/browser/auto-save-service.js.br',
    ];
    const unexpected = paths.filter((file) => !compiled.test(file) && !built.includes(file));
    expect(unexpected).toEqual([]);
    expect(paths).toEqual(expect.arrayContaining(built));
    // Compiled tests, benches, fixtures or the demo would match the pattern above, so by name too.
    const notLibrary =
      /(^|\/)(test|tests|__tests__|fixtures?|bench|examples?|business-app)(\/|$)|\.(test|spec)\./;
    expect(paths.filter((file) => notLibrary.test(file))).toEqual([]);
  });

  it('holds every file package.json points to: each entry point, its types, and the bin', () => {
    const paths = new Set(packed.files.map((file) => file.path));
    const targets = [
      ...Object.values(manifest.exports).flatMap((target) =>
        typeof target === 'string' ? [target] : [target.default, ...(target.types ? [target.types] : [])],
      ),
      ...Object.values(manifest.bin ?? {}),
    ].map((target) => target.replace(/^\.\//, ''));
    expect(targets.filter((target) => !paths.has(target))).toEqual([]);
  });

  it('passes publint with no error, warning or suggestion', async () => {
    const data = readFileSync(tarball);
    // A Buffer may be a view of a larger pooled ArrayBuffer: hand publint exactly the tarball's bytes.
    const bytes = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
    const { messages, pkg } = await publint({ pack: { tarball: bytes }, level: 'suggestion', strict: true });
    const described = messages.map(
      (message) => `${message.type} ${message.code}: ${formatMessage(message, pkg, { color: false })}`,
    );
    expect(described).toEqual([]);
  });

  it('passes Are the Types Wrong (esm-only profile) on every typed entry point', () => {
    const attw = path.join(REPO_ROOT, 'node_modules', '.bin', 'attw');
    const run = spawnSync(
      attw,
      [
        tarball,
        '--format',
        'json',
        '--profile',
        'esm-only',
        ...(UNTYPED_ENTRY_POINTS.length > 0 ? ['--exclude-entrypoints', ...UNTYPED_ENTRY_POINTS] : []),
      ],
      // In the pack folder: no stray .attw.json is read.
      { cwd: packDir, encoding: 'utf8' },
    );
    expect(run.error).toBeUndefined();
    const report = JSON.parse(run.stdout) as AttwReport;
    // attw answers 0 for a package with no types at all; this one must have them.
    expect(report.analysis.types).toBeTruthy();
    const checked = Object.keys(report.analysis.entrypoints).sort();
    const expected = Object.keys(manifest.exports)
      .filter((subpath) => !UNTYPED_ENTRY_POINTS.includes(subpath))
      .sort();
    expect(checked).toEqual(expected);
    const problems = (report.analysis.problems ?? []).filter(
      (problem) =>
        problem.resolutionKind === undefined ||
        !ESM_ONLY_IGNORED_RESOLUTIONS.includes(problem.resolutionKind),
    );
    expect(problems).toEqual([]);
    expect(run.status, run.stderr).toBe(0);
  });
});
