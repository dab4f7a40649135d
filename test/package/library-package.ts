/**
 * Where the library package is and what it exports, for the tests of the package as published:
 * read off packages/steadfast/package.json so a new entry point is covered without editing them.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const LIBRARY_DIR = path.join(REPO_ROOT, 'packages', 'steadfast');

export type ExportTarget = string | { readonly types?: string; readonly default: string };

export interface LibraryManifest {
  readonly name: string;
  readonly version: string;
  readonly exports: Readonly<Record<string, ExportTarget>>;
  readonly bin?: Readonly<Record<string, string>>;
}

export const manifest = JSON.parse(
  readFileSync(path.join(LIBRARY_DIR, 'package.json'), 'utf8'),
) as LibraryManifest;

/** `steadfast/<x>` for every subpath the package exports, e.g. `steadfast/persistence`. */
export const exportedSpecifiers: readonly string[] = Object.keys(manifest.exports).map(
  (subpath) => `${manifest.name}/${subpath.slice(2)}`,
);

/** The compiled entry points must exist: `npm test` builds first, `npx vitest run` alone does not. */
export function assertBuilt(): void {
  const missing = Object.values(manifest.exports)
    .flatMap((target) => (typeof target === 'string' ? [target] : [target.default, target.types ?? '']))
    .filter((file) => file !== '' && !existsSync(path.join(LIBRARY_DIR, file)));
  if (missing.length > 0) {
    throw new Error(
      `packages/steadfast is not built (missing ${missing.join(', ')}): run \`npm run build\` first`,
    );
  }
}
