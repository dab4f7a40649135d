import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exclusionReason, type FieldTraits } from '../../../packages/steadfast/src/client/exclusion-rules.js';

const text: FieldTraits = { tag: 'input', type: 'text', autocomplete: '', name: 'title', optedOut: false };

describe('exclusionReason', () => {
  it('keeps ordinary fields', () => {
    expect(exclusionReason(text)).toBeNull();
    expect(exclusionReason({ ...text, tag: 'textarea', type: '' })).toBeNull();
    expect(exclusionReason({ ...text, type: 'email', autocomplete: 'email' })).toBeNull();
    expect(exclusionReason({ ...text, tag: 'div', type: '', name: 'bio' })).toBeNull();
  });

  it.each([
    ['password', { type: 'password' }],
    ['file', { type: 'file' }],
    ['hidden', { type: 'hidden' }],
    ['not-a-value', { type: 'submit' }],
    ['opted-out', { optedOut: true }],
    ['sensitive-autocomplete', { autocomplete: 'cc-number' }],
    ['sensitive-autocomplete', { autocomplete: 'billing cc-csc' }],
    ['sensitive-autocomplete', { autocomplete: 'one-time-code' }],
    ['sensitive-autocomplete', { autocomplete: 'new-password' }],
    ['csrf-token', { name: '_csrf' }],
    ['csrf-token', { name: 'authenticity_token' }],
    ['unnamed', { name: '' }],
  ] as const)('excludes %s fields (%o)', (reason, traits) => {
    expect(exclusionReason({ ...text, ...traits })).toBe(reason);
  });

  it('excludes every card autocomplete token, wherever it stands in the attribute', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z-]{0,12}$/),
        fc.constantFrom('', 'shipping ', 'section-a billing '),
        (suffix, before) => {
          expect(exclusionReason({ ...text, autocomplete: `${before}cc-${suffix}` })).toBe(
            'sensitive-autocomplete',
          );
        },
      ),
    );
  });

  it('knows anti-forgery token names in any letter case, and only whole names', () => {
    for (const name of [
      'CSRF',
      'csrf-token',
      'Csrf_Token',
      'csrftoken',
      'XSRF-TOKEN',
      'xsrf_token',
      '_Token',
    ])
      expect(exclusionReason({ ...text, name })).toBe('csrf-token');
    expect(exclusionReason({ ...text, name: '__RequestVerificationToken' })).toBe('csrf-token');
    for (const name of ['csrf_tokens', 'my_csrf', 'token', 'csrf token', 'csrf--token'])
      expect(exclusionReason({ ...text, name })).toBeNull();
  });

  it('lets opting out win over everything else', () => {
    expect(exclusionReason({ ...text, type: 'password', optedOut: true })).toBe('opted-out');
  });
});
