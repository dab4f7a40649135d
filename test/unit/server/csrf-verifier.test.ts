/**
 * CsrfVerifier: @fastify/csrf's tokens, and a memory of verified (token, secret) pairs that never
 * accepts what the hash check would refuse.
 */
import Tokens from '@fastify/csrf';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsrfVerifier } from '../../../packages/steadfast/src/http/csrf-verifier.js';

const tokens = Tokens();

describe('CsrfVerifier', () => {
  it('accepts a token made for the secret, and refuses it for another session’s secret even once remembered', () => {
    const verifier = new CsrfVerifier();
    const mine = tokens.secretSync();
    const theirs = tokens.secretSync();
    const token = tokens.create(mine);
    expect(verifier.verify(mine, token)).toBe(true);
    expect(verifier.verify(mine, token)).toBe(true);
    expect(verifier.verify(theirs, token)).toBe(false);
    expect(verifier.verify(mine, `${token}x`)).toBe(false);
    expect(verifier.verify(mine, tokens.create(theirs))).toBe(false);
  });

  it('refuses a missing secret or token, and values that are not strings', () => {
    const verifier = new CsrfVerifier();
    const secret = tokens.secretSync();
    const token = tokens.create(secret);
    expect(verifier.verify(secret, token)).toBe(true);
    for (const [s, t] of [
      [undefined, token],
      ['', token],
      [secret, undefined],
      [secret, ''],
      [secret, [token]],
      [{ toString: () => secret }, token],
    ] as const) {
      expect(verifier.verify(s, t)).toBe(false);
    }
  });

  it('answers exactly as the hash check would, pairs remembered or not', () => {
    const verifier = new CsrfVerifier(8);
    const secrets = [tokens.secretSync(), tokens.secretSync(), 'with\nnewline'];
    const pair = fc.tuple(
      fc.constantFrom(...secrets),
      fc.oneof(
        fc.constantFrom(...secrets).map((s) => tokens.create(s)),
        fc.string(),
        fc.constantFrom(...secrets).map((s) => `${s}\n${tokens.create(s)}`),
      ),
    );
    fc.assert(
      fc.property(fc.array(pair, { maxLength: 30 }), (pairs) => {
        for (const [secret, token] of [...pairs, ...pairs]) {
          expect(verifier.verify(secret, token)).toBe(tokens.verify(secret, token));
        }
      }),
    );
  });
});
