/**
 * The model of Steadfast's own sign-in: its users (table `steadfast_users`), registered by the
 * Fastify plugin and `createUser` when Steadfast's sessions are used. Apps define their own
 * models with `defineModel`.
 */
import { z } from 'zod';
import type { ModelDefinition } from './model-registry.js';

/** One line of text: no control characters. */
const singleLine = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .refine((value) => ![...value].some((c) => c.charCodeAt(0) < 0x20), 'must be one line of text');

export const userModel: ModelDefinition = {
  name: 'User',
  table: 'steadfast_users',
  primaryKey: 'id',
  generatedKey: true,
  trackedFields: ['username', 'display_name', 'password_hash'],
  secretFields: ['password_hash'],
  schema: z.object({
    username: z
      .string()
      .trim()
      .regex(/^[a-z0-9_.-]{1,64}$/, 'must be 1-64 lowercase letters, digits, _ . -'),
    display_name: singleLine(100).pipe(z.string().min(1, 'is required')),
    password_hash: z.string().min(1),
  }),
  createdAtColumn: 'created_at',
  updatedAtColumn: 'updated_at',
};
