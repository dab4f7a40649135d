/**
 * The demo's models: products and settings, in the demo's own tables (its migrations.ts), saved
 * through Steadfast's persistence manager like any app's; and Steadfast's users with the demo's
 * role on them.
 */
import { defineModel, userModel } from 'steadfast/persistence';
import { z } from 'zod';
import { ROLES } from './roles.js';

/** A decimal amount as exact text, normalised to two places: "5" → "5.00". */
const money = z
  .string()
  .trim()
  .regex(/^\d{1,10}(\.\d{1,2})?$/, 'must be an amount like 12.50')
  .transform((value) => Number.parseFloat(value).toFixed(2));

const singleLine = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .refine((value) => ![...value].some((c) => c.charCodeAt(0) < 0x20), 'must be one line of text');

export const productModel = defineModel({
  name: 'Product',
  table: 'products',
  primaryKey: 'id',
  generatedKey: true,
  trackedFields: ['sku', 'name', 'description', 'price', 'quantity', 'category', 'active'],
  schema: z.object({
    sku: singleLine(40).pipe(z.string().min(1, 'is required')),
    name: singleLine(200).pipe(z.string().min(1, 'is required')),
    description: z.string().max(5000),
    price: money,
    quantity: z.number().int().min(0).max(1_000_000_000),
    category: singleLine(100),
    active: z.union([z.literal(0), z.literal(1)]),
  }),
  createdAtColumn: 'created_at',
  updatedAtColumn: 'updated_at',
});

/** Settings are keyed `app.<name>` or `user.<userId>.<name>`; the value is JSON text. */
export const settingModel = defineModel({
  name: 'Setting',
  table: 'settings',
  primaryKey: 'id',
  generatedKey: false,
  trackedFields: ['value'],
  schema: z.object({ value: z.string().max(10_000) }),
  updatedAtColumn: 'updated_at',
});

/**
 * Steadfast's User model (its sign-in's users) with the demo's `role` column tracked, so a change
 * of role is logged like any other change. A user made without one is a viewer (the column's
 * default, read back and logged with the rest).
 */
export const appUserModel = defineModel({
  ...userModel,
  trackedFields: [...userModel.trackedFields, 'role'],
  schema: (userModel.schema ?? z.object({})).extend({ role: z.enum(ROLES).optional() }),
});

export const appModels = [productModel, settingModel, appUserModel] as const;
