/**
 * `steadfast/react`'s public types, as an app imports them. Type-only: the hook itself runs in
 * Chromium on React 18 and 19 (test/e2e/state/saved-state.test.ts); `react` resolves here only
 * to its types.
 */

import type { Context } from 'react';
import type { AutoSaveService } from 'steadfast/client';
import type { AutoSaveServiceContext, SetSavedState, useSavedState } from 'steadfast/react';
import { describe, expectTypeOf, it } from 'vitest';

interface InvoiceRow {
  item: string;
  qty: number;
}

describe('steadfast/react', () => {
  it('useSavedState(key, initial) returns the value and a setter taking a value or an update', () => {
    expectTypeOf<typeof useSavedState<InvoiceRow[]>>().toEqualTypeOf<
      (key: string, initial: InvoiceRow[]) => [InvoiceRow[], SetSavedState<InvoiceRow[]>]
    >();
    expectTypeOf<SetSavedState<number>>().toEqualTypeOf<
      (next: number | ((previous: number) => number)) => void
    >();
  });

  it('AutoSaveServiceContext carries a service, or null for the page’s own', () => {
    expectTypeOf<typeof AutoSaveServiceContext>().toEqualTypeOf<Context<AutoSaveService | null>>();
  });
});
