// The app's model of its own `notes` table. Also the `--config` of `npx steadfast activity verify`.
import { defineModel } from 'steadfast/persistence';
import { z } from 'zod';

export const noteModel = defineModel({
  name: 'Note',
  table: 'notes',
  primaryKey: 'id',
  generatedKey: true,
  trackedFields: ['title', 'body', 'pinned'],
  schema: z.object({
    title: z.string().trim().min(1).max(200),
    body: z.string().max(10_000),
    pinned: z.union([z.literal(0), z.literal(1)]),
  }),
});

export const models = [noteModel];
export default { models };
