import { describe, expect, it } from 'vitest';
import { deriveFormKey, isSyncableKey } from '../../../packages/steadfast/src/client/form-key.js';

const page = 'https://shop.example/products/42/edit?tab=2';

describe('deriveFormKey', () => {
  it('prefers the form id', () => {
    expect(
      deriveFormKey({ id: 'product-42', autosaveKey: 'other', actionAttribute: '/x', pageUrl: page }),
    ).toBe('product-42');
  });

  it('falls back to data-autosave-key when there is no id', () => {
    expect(deriveFormKey({ id: '', autosaveKey: 'settings', actionAttribute: '/x', pageUrl: page })).toBe(
      'settings',
    );
  });

  it('falls back to the action path, without query or fragment', () => {
    expect(
      deriveFormKey({
        id: '',
        autosaveKey: undefined,
        actionAttribute: '/products/42?x=1#top',
        pageUrl: page,
      }),
    ).toBe('/products/42');
  });

  it('uses the page path when the form has no action (it posts to itself)', () => {
    expect(deriveFormKey({ id: ' ', autosaveKey: ' ', actionAttribute: null, pageUrl: page })).toBe(
      '/products/42/edit',
    );
  });

  it('resolves a relative action against the page', () => {
    expect(deriveFormKey({ id: '', autosaveKey: undefined, actionAttribute: 'save', pageUrl: page })).toBe(
      '/products/42/save',
    );
  });
});

describe('isSyncableKey', () => {
  it('accepts what the protocol accepts and refuses the rest', () => {
    expect(isSyncableKey('product-42')).toBe(true);
    expect(isSyncableKey('/products/42/edit')).toBe(true);
    expect(isSyncableKey('prefs:sidebar.width')).toBe(true);
    expect(isSyncableKey('has space')).toBe(false);
    expect(isSyncableKey('')).toBe(false);
    expect(isSyncableKey('x'.repeat(201))).toBe(false);
  });
});
