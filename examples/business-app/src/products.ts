/** Reading products for the pages: the searchable, paged list and single records. */
import { sql } from 'kysely';
import type { Persistence } from 'steadfast/persistence';
import { isStorableText, MAX_STORED_INTEGER } from 'steadfast/protocol';
import { reader } from './database-reader.js';
import type { ProductRow } from './schema.js';

export interface ProductListQuery {
  readonly search: string;
  /** 1-based. */
  readonly page: number;
  readonly pageSize: number;
}

export interface ProductListPage {
  readonly products: readonly ProductRow[];
  readonly total: number;
  readonly page: number;
  readonly pageCount: number;
}

/** `%`, `_` and the escape character itself match literally: a search for "50%" means that. */
function likePattern(search: string): string {
  return `%${search.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

export async function listProducts(
  persistence: Persistence,
  query: ProductListQuery,
): Promise<ProductListPage> {
  // Names, SKUs and categories are single lines (no control characters), so a search holding NUL
  // matches nothing; PostgreSQL would refuse it as a query parameter.
  if (!isStorableText(query.search)) return { products: [], total: 0, page: 1, pageCount: 1 };
  const db = reader(persistence);
  let filtered = db.selectFrom('products');
  if (query.search !== '') {
    const pattern = likePattern(query.search);
    // lower() on both sides: PostgreSQL's LIKE is case-sensitive, SQLite's is not.
    filtered = filtered.where((eb) =>
      eb.or([
        sql<boolean>`lower(name) like ${pattern} escape '!'`,
        sql<boolean>`lower(sku) like ${pattern} escape '!'`,
        sql<boolean>`lower(category) like ${pattern} escape '!'`,
      ]),
    );
  }
  const counted = await filtered.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirst();
  const total = Number(counted?.total ?? 0);
  const pageCount = Math.max(1, Math.ceil(total / query.pageSize));
  const page = Math.min(Math.max(1, query.page), pageCount);
  const products = await filtered
    .selectAll()
    .orderBy('name')
    .orderBy('id')
    .limit(query.pageSize)
    .offset((page - 1) * query.pageSize)
    .execute();
  return { products, total, page, pageCount };
}

export async function findProduct(persistence: Persistence, id: number): Promise<ProductRow | undefined> {
  // Out of the column's range: PostgreSQL would fail the comparison instead of finding nothing.
  if (!Number.isSafeInteger(id) || id < 1 || id > MAX_STORED_INTEGER) return undefined;
  return reader(persistence).selectFrom('products').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The form key the browser service files a product form's draft under. */
export function productFormKey(id: number | 'new'): string {
  return `product-${id}`;
}
