import type { Kysely } from 'kysely';
import type { AppDatabase } from '../../examples/business-app/src/schema.js';
import type { Persistence } from '../../packages/steadfast/src/persistence/index.js';

let skuCounter = 0;

/** Valid Product values with a unique sku. */
export function productValues(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  skuCounter += 1;
  return {
    sku: `SKU-${process.pid}-${skuCounter}`,
    name: `Desk ${skuCounter}`,
    description: 'Oak, 160 cm',
    price: '500.00',
    quantity: 3,
    category: 'Furniture',
    active: 1,
    ...overrides,
  };
}

export async function createProduct(persistence: Persistence, overrides: Record<string, unknown> = {}) {
  const { record } = await persistence.autoSave('Product', productValues(overrides));
  return record as { id: number; version: number; name: string; price: string } & Record<string, unknown>;
}

/** Everything a save could have touched, to compare before and after a failed one. */
export async function snapshotTables(db: Kysely<AppDatabase>) {
  const products = await db.selectFrom('products').selectAll().orderBy('id').execute();
  const log = await db.selectFrom('steadfast_activity_log').selectAll().orderBy('id').execute();
  return { products, log };
}
