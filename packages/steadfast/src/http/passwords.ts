/**
 * Password hashing with scrypt from node:crypto. The hash carries its own parameters
 * (`scrypt$<N>$<r>$<p>$<salt>$<key>`, base64), so the cost can be raised later and old hashes
 * still verify.
 */
import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

/** OWASP's scrypt baseline: N=2^15 (about 32 MiB, ~50 ms here), r=8, p=1. */
const DEFAULT_PARAMS = { N: 2 ** 15, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
/** Refuse stored parameters beyond these: a tampered hash must not make verify eat the machine. */
const MAX_N = 2 ** 20;
const MAX_RP = 64;

function derive(password: string, salt: Buffer, length: number, params: ScryptOptions): Promise<Buffer> {
  const n = params.N ?? DEFAULT_PARAMS.N;
  const r = params.r ?? DEFAULT_PARAMS.r;
  const maxmem = 128 * n * r * 2;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, length, { ...params, maxmem }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/**
 * @example const hash = await hashPassword('correct horse') // "scrypt$32768$8$1$…$…"
 */
export async function hashPassword(
  plain: string,
  params: { N: number; r: number; p: number } = DEFAULT_PARAMS,
): Promise<string> {
  if (typeof plain !== 'string' || plain.length === 0)
    throw new TypeError('password must be a non-empty string');
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(plain, salt, KEY_LENGTH, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/**
 * True when `plain` matches `hash`. Compares in constant time; a malformed hash is simply false.
 *
 * @example if (await verifyPassword(form.password, user.password_hash)) { … }
 */
export async function verifyPassword(plain: string, hash: string): Promise<boolean> {
  if (typeof plain !== 'string' || typeof hash !== 'string') return false;
  const parts = hash.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const valid = (x: number, max: number) => Number.isInteger(x) && x >= 1 && x <= max;
  if (!valid(n, MAX_N) || (n & (n - 1)) !== 0 || !valid(r, MAX_RP) || !valid(p, MAX_RP)) return false;
  const salt = Buffer.from(parts[4] ?? '', 'base64');
  const expected = Buffer.from(parts[5] ?? '', 'base64');
  if (salt.length === 0 || expected.length < 16) return false;
  try {
    const actual = await derive(plain, salt, expected.length, { N: n, r, p });
    return timingSafeEqual(actual, expected);
  } catch {
    return false;
  }
}

/** A valid hash of a random password: verified against when the user does not exist, so timing does not tell. */
let decoyHash: Promise<string> | undefined;
export function decoyPasswordHash(): Promise<string> {
  decoyHash ??= hashPassword(randomBytes(16).toString('hex'));
  return decoyHash;
}
