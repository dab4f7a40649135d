/**
 * The product form as the browser posts it (every value a string, the checkbox present or not)
 * and as the page shows it back. Validation here gives per-field messages for the form; the
 * persistence manager validates again, and its ValidationError (a taken SKU) maps to a field too.
 */

import { isStorableText } from 'steadfast/protocol';
import { z } from 'zod';
import type { ProductRow } from './schema.js';

export const PRODUCT_FIELDS = [
  'sku',
  'name',
  'description',
  'price',
  'quantity',
  'category',
  'active',
] as const;
export type ProductField = (typeof PRODUCT_FIELDS)[number];

/** What the form's inputs hold: text, exactly as typed, so a re-rendered form loses nothing. */
export interface ProductFormInput {
  readonly sku: string;
  readonly name: string;
  readonly description: string;
  readonly price: string;
  readonly quantity: string;
  readonly category: string;
  readonly active: boolean;
}

/** Values in the shape the Product model takes. */
export interface ProductValues {
  readonly sku: string;
  readonly name: string;
  readonly description: string;
  readonly price: string;
  readonly quantity: number;
  readonly category: string;
  readonly active: 0 | 1;
}

export type FieldErrors = Partial<Record<ProductField | 'form', string>>;

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/** Reads a urlencoded body; unknown fields are ignored, missing ones read as empty. */
export function readProductInput(body: unknown): ProductFormInput {
  const fields = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  return {
    sku: text(fields.sku),
    name: text(fields.name),
    description: text(fields.description),
    price: text(fields.price),
    quantity: text(fields.quantity),
    category: text(fields.category),
    // An unchecked checkbox is simply absent from the body.
    active: fields.active !== undefined,
  };
}

export function productInputFromRecord(product: Pick<ProductRow, ProductField>): ProductFormInput {
  return {
    sku: product.sku,
    name: product.name,
    description: product.description,
    price: product.price,
    quantity: String(product.quantity),
    category: product.category,
    active: Number(product.active) === 1,
  };
}

export const EMPTY_PRODUCT_INPUT: ProductFormInput = {
  sku: '',
  name: '',
  description: '',
  price: '',
  quantity: '0',
  category: '',
  active: true,
};

const productFormSchema = z.object({
  sku: z.string().trim().min(1, 'SKU is required').max(40, 'SKU must be at most 40 characters'),
  name: z.string().trim().min(1, 'Name is required').max(200, 'Name must be at most 200 characters'),
  description: z
    .string()
    .max(5000, 'Description must be at most 5000 characters')
    // What neither engine stores as given (NUL, broken Unicode) is refused alike on both.
    .refine(isStorableText, 'Description must not contain NUL characters or broken Unicode'),
  price: z
    .string()
    .trim()
    .regex(/^\d{1,10}(\.\d{1,2})?$/, 'Price must be an amount like 12.50'),
  quantity: z
    .string()
    .trim()
    .regex(/^\d{1,10}$/, 'Quantity must be a whole number, 0 or more')
    .transform(Number)
    .pipe(z.number().max(1_000_000_000, 'Quantity is too large')),
  category: z.string().trim().max(100, 'Category must be at most 100 characters'),
  active: z.boolean(),
});

export type ProductValidation =
  | { readonly ok: true; readonly values: ProductValues }
  | { readonly ok: false; readonly errors: FieldErrors };

export function validateProductInput(input: ProductFormInput): ProductValidation {
  const parsed = productFormSchema.safeParse(input);
  if (!parsed.success) {
    const errors: FieldErrors = {};
    for (const issue of parsed.error.issues) {
      const field = issue.path[0];
      if (typeof field === 'string' && isProductField(field) && errors[field] === undefined) {
        errors[field] = issue.message;
      }
    }
    return { ok: false, errors };
  }
  const { active, ...rest } = parsed.data;
  return { ok: true, values: { ...rest, active: active ? 1 : 0 } };
}

export function isProductField(field: string): field is ProductField {
  return (PRODUCT_FIELDS as readonly string[]).includes(field);
}

/** Reads a positive record id from a route parameter; undefined for anything else. */
export function parseRecordId(raw: unknown): number | undefined {
  if (typeof raw !== 'string' || !/^[1-9]\d{0,15}$/.test(raw)) return undefined;
  const id = Number(raw);
  return Number.isSafeInteger(id) ? id : undefined;
}

/** Reads a version number from a form field; undefined when absent or malformed. */
export function parseVersion(raw: unknown): number | undefined {
  if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw)) return undefined;
  return Number(raw);
}
