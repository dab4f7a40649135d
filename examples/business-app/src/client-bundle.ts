/**
 * `npm start` on a fresh clone must serve the browser service, but `dist/` is not committed.
 * In development the bundle is built on start when it is missing; production expects the
 * deploy to have run `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { CLIENT_BUNDLE_DIRECTORY } from './build-app.js';

export class ClientBundleMissingError extends Error {
  readonly code = 'client_bundle_missing';
  override readonly name = 'ClientBundleMissingError';
}

export function ensureClientBundle(options: { readonly buildIfMissing: boolean }): void {
  const bundle = join(CLIENT_BUNDLE_DIRECTORY, 'auto-save-service.js');
  if (existsSync(bundle)) return;
  if (!options.buildIfMissing) {
    throw new ClientBundleMissingError(`${bundle} is missing: run "npm run build" before starting`);
  }
  const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
  const buildScript = resolve(CLIENT_BUNDLE_DIRECTORY, '..', '..', 'scripts', 'build-client.ts');
  // A child process: the build script is a top-level program that may exit on failure.
  const result = spawnSync(process.execPath, [tsxCli, buildScript], { stdio: 'inherit' });
  if (result.status !== 0 || !existsSync(bundle)) {
    throw new ClientBundleMissingError(`building ${bundle} failed (exit ${String(result.status)})`);
  }
}
