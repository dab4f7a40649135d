/**
 * SessionCookieSigner: @fastify/cookie's cookie format, and a memory of verified cookie values that
 * never accepts a value the HMAC would refuse.
 */
import { Signer } from '@fastify/cookie';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SessionCookieSigner } from '../../../packages/steadfast/src/http/session-cookie-signer.js';

const SECRET = 'a-test-session-secret-that-is-long-enough-0123456789';

describe('SessionCookieSigner', () => {
  it('reads and writes the cookie format of @fastify/cookie’s Signer', () => {
    const signer = new SessionCookieSigner(SECRET);
    const reference = new Signer(SECRET);
    expect(signer.sign('abc')).toBe(reference.sign('abc'));
    expect(signer.unsign(reference.sign('session-id'))).toBe('session-id');
  });

  it('refuses a tampered or foreign value, also after the genuine one was verified and remembered', () => {
    const signer = new SessionCookieSigner(SECRET);
    const genuine = signer.sign('victim-session');
    expect(signer.unsign(genuine)).toBe('victim-session');
    expect(signer.unsign(genuine)).toBe('victim-session');
    const [id, mac] = genuine.split('.') as [string, string];
    expect(signer.unsign(`attacker-session.${mac}`)).toBeNull();
    expect(signer.unsign(`${id}.${mac.slice(0, -1)}A`)).toBeNull();
    expect(signer.unsign(id)).toBeNull();
    expect(signer.unsign(new Signer(`${SECRET}-other`).sign('victim-session'))).toBeNull();
  });

  it('answers exactly as the HMAC check would for any value, remembered or not', () => {
    const signer = new SessionCookieSigner(SECRET, 8);
    const reference = new Signer(SECRET);
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string().map((id) => reference.sign(id)),
            fc.string(),
            fc.string().map((id) => `${reference.sign(id)}x`),
          ),
          { maxLength: 30 },
        ),
        (values) => {
          for (const value of [...values, ...values]) {
            const expected = reference.unsign(value);
            expect(signer.unsign(value)).toBe(expected.valid && expected.value ? expected.value : null);
          }
        },
      ),
    );
  });
});
