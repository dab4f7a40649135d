/**
 * Signs session ids into cookie values and checks them, in @fastify/cookie's Signer format
 * (`<id>.<HMAC-SHA256 in base64, unpadded>`), for the Fastify sessions and the Express router alike.
 * Written on node:crypto rather than imported from @fastify/cookie, so the Express router loads no
 * Fastify code.
 *
 * It remembers the cookie values whose signature it has verified, so a signed-in client's every
 * request does not pay for an HMAC (the largest cost left in reading a session, CPU profile of
 * bench/http-overhead.bench.ts). That is safe because a signature's validity never changes under
 * one secret: the cache never accepts a value the HMAC would refuse, only invalid values are
 * always recomputed, and whether the session named is still alive (signed out, expired) is read
 * from the database on every request as before.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { BoundedMemo } from './bounded-memo.js';

/** Verified cookie values kept (about 100 bytes each); the oldest goes first when full. */
const DEFAULT_CAPACITY = 10_000;

/** The session cookie's name unless an adapter is told otherwise. */
export const SESSION_COOKIE_NAME = 'sid';

export class SessionCookieSigner {
  readonly #secret: string;
  /** Cookie value → the session id it carries, for values whose signature was valid. */
  readonly #verified: BoundedMemo<string>;

  constructor(secret: string, capacity = DEFAULT_CAPACITY) {
    this.#secret = secret;
    this.#verified = new BoundedMemo(capacity);
  }

  /** The cookie value carrying `id`. */
  sign(id: string): string {
    return `${id}.${this.#signature(id)}`;
  }

  #signature(value: string): string {
    return createHmac('sha256', this.#secret).update(value).digest('base64').replace(/=+$/, '');
  }

  /** The session id a cookie value carries, or null when its signature is not ours. */
  unsign(value: string): string | null {
    const known = this.#verified.get(value);
    if (known !== undefined) return known;
    const dot = value.lastIndexOf('.');
    if (dot <= 0) return null;
    const id = value.slice(0, dot);
    const given = Buffer.from(value.slice(dot + 1));
    const expected = Buffer.from(this.#signature(id));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    this.#verified.remember(value, id);
    return id;
  }
}
