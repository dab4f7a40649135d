/**
 * Signs session ids into cookie values and checks them, in @fastify/cookie's Signer format
 * (`<id>.<HMAC-SHA256>`), for the Fastify sessions and the Express router alike.
 *
 * It remembers the cookie values whose signature it has verified, so a signed-in client's every
 * request does not pay for an HMAC (the largest cost left in reading a session, CPU profile of
 * bench/http-overhead.bench.ts). That is safe because a signature's validity never changes under
 * one secret: the cache never accepts a value the HMAC would refuse, only invalid values are
 * always recomputed, and whether the session named is still alive (signed out, expired) is read
 * from the database on every request as before.
 */
import { Signer } from '@fastify/cookie';
import { BoundedMemo } from './bounded-memo.js';

/** Verified cookie values kept (about 100 bytes each); the oldest goes first when full. */
const DEFAULT_CAPACITY = 10_000;

export class SessionCookieSigner {
  readonly #signer: Signer;
  /** Cookie value → the session id it carries, for values whose signature was valid. */
  readonly #verified: BoundedMemo<string>;

  constructor(secret: string, capacity = DEFAULT_CAPACITY) {
    this.#signer = new Signer(secret);
    this.#verified = new BoundedMemo(capacity);
  }

  /** The cookie value carrying `id`. */
  sign(id: string): string {
    return this.#signer.sign(id);
  }

  /** The session id a cookie value carries, or null when its signature is not ours. */
  unsign(value: string): string | null {
    const known = this.#verified.get(value);
    if (known !== undefined) return known;
    const unsigned = this.#signer.unsign(value);
    if (!unsigned.valid || !unsigned.value) return null;
    this.#verified.remember(value, unsigned.value);
    return unsigned.value;
  }
}
