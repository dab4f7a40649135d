/**
 * The development session secret: generated once and kept in `./data/session-secret`, so a
 * restart of `npm start` does not sign everybody out. Production always passes SESSION_SECRET.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const MIN_SECRET_LENGTH = 32;

export function loadOrCreateSessionSecret(file: string): string {
  try {
    const stored = readFileSync(file, 'utf8').trim();
    if (stored.length >= MIN_SECRET_LENGTH) return stored;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(32).toString('hex');
  mkdirSync(dirname(file), { recursive: true });
  // 0600: the secret signs session cookies; other local users must not read it.
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
