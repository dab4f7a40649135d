import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const libraryRoot = fileURLToPath(new URL('./packages/steadfast/', import.meta.url));
const { exports } = JSON.parse(readFileSync(`${libraryRoot}package.json`, 'utf8')) as {
  exports: Record<string, string | { default: string }>;
};

/**
 * `steadfast/<entry>` resolves to the entry's TypeScript source in tests, read off the package's
 * own `exports` (dist/x.js → src/x.ts), so the demo and the tests share one copy of every module
 * (one ConflictError class) without a build. The adoption tests use the packed tarball instead.
 */
const sourceAliases = Object.entries(exports)
  .filter(([, target]) => typeof target === 'object')
  .map(([subpath, target]) => ({
    find: `steadfast/${subpath.slice(2)}`,
    replacement: `${libraryRoot}${(target as { default: string }).default
      .slice(2)
      .replace(/^dist\//, 'src/')
      .replace(/\.js$/, '.ts')}`,
  }));

export default defineConfig({
  resolve: { alias: sourceAliases },
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Two cores here: two files at a time. Each database test file works in its own database,
    // so files never share state.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: { TZ: 'UTC' },
  },
});
