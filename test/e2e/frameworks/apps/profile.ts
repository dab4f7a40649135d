/**
 * The form every framework page renders: one field of each kind, its defaults, and the options of
 * the choice fields. Imported by the pages (bundled by esbuild) and by the tests.
 */
export interface Profile {
  title: string;
  qty: string;
  due: string;
  notes: string;
  agree: boolean;
  tags: string[];
  plan: string;
  size: string;
  colors: string[];
}

export const DEFAULTS: Readonly<Profile> = {
  title: 'Ada',
  qty: '3',
  due: '2026-01-15',
  notes: 'Hello',
  agree: false,
  tags: ['a'],
  plan: 'free',
  size: 'm',
  colors: ['red'],
};

export const TAGS = ['a', 'b', 'c'];
export const PLANS = ['free', 'pro', 'team'];
export const SIZES = ['s', 'm', 'l'];
export const COLORS = ['red', 'green', 'blue'];

/** What the react-hook-form page loads into its form after load; `sku` is a field no test touches. */
export const RECORD: Readonly<Profile & { sku: string }> = {
  title: 'From the record',
  qty: '7',
  due: '2026-06-01',
  notes: 'Record notes',
  agree: false,
  tags: ['c'],
  plan: 'team',
  size: 's',
  colors: ['blue'],
  sku: 'SKU-RECORD',
};

/** A copy of the defaults a page can change (its arrays its own). */
export function freshDefaults(): Profile {
  return { ...DEFAULTS, tags: [...DEFAULTS.tags], colors: [...DEFAULTS.colors] };
}
