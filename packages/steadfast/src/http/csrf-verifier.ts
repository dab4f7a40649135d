/**
 * Checks a CSRF token against its session's secret, for the sync route and the Express router: the
 * tokens are @fastify/csrf's, as `reply.generateCsrf()` (@fastify/csrf-protection) makes them.
 *
 * It remembers the (token, secret) pairs it has verified, so a client syncing every few seconds
 * does not pay for a hash each time. That is safe because a token's validity for a secret never
 * changes (these tokens do not expire): a remembered pair is exactly one the hash check accepted,
 * and anything else is checked in full. The secret comes from the session row read on every
 * request, so a signed-out session has none and is refused.
 */
import Tokens from '@fastify/csrf';
import { BoundedMemo } from './bounded-memo.js';

/** Verified pairs kept (about 150 bytes each); the oldest goes first when full. */
const DEFAULT_CAPACITY = 10_000;

export class CsrfVerifier {
  readonly #tokens = Tokens();
  readonly #verified: BoundedMemo<true>;

  constructor(capacity = DEFAULT_CAPACITY) {
    this.#verified = new BoundedMemo(capacity);
  }

  /** True when `token` was made for `secret`; false for anything missing or not a string. */
  verify(secret: unknown, token: unknown): boolean {
    if (typeof secret !== 'string' || !secret || typeof token !== 'string' || !token) return false;
    // The key splits at its last newline, so it names one pair as long as the secret has none
    // (ours are base64url); a secret that has one is simply never remembered.
    const pair = `${token}\n${secret}`;
    if (this.#verified.get(pair)) return true;
    if (!this.#tokens.verify(secret, token)) return false;
    if (secret.includes('\n')) return true;
    this.#verified.remember(pair, true);
    return true;
  }
}
