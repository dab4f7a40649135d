/**
 * What a save writes is what it was given: an update never writes a field the caller left out,
 * even one whose schema has a default (zod applies defaults inside `.partial()`).
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineModel } from '../../../packages/steadfast/src/persistence/define-model.js';
import { validateModelValues } from '../../../packages/steadfast/src/persistence/model-values.js';

const noteModel = defineModel({
  name: 'Note',
  table: 'notes',
  primaryKey: 'id',
  generatedKey: true,
  trackedFields: ['title', 'status', 'pinned'],
  schema: z.object({
    title: z.string().min(1),
    status: z.enum(['draft', 'published']).default('draft'),
    pinned: z.boolean().optional().default(false),
  }),
});

describe('validateModelValues', () => {
  it('fills the schema’s defaults into a create', () => {
    expect(validateModelValues(noteModel, { title: 'Hello' }, 'create')).toEqual({
      title: 'Hello',
      status: 'draft',
      pinned: false,
    });
  });

  it('writes only the fields an update gives, never a default for one it left out', () => {
    expect(validateModelValues(noteModel, { title: 'Renamed' }, 'update')).toEqual({ title: 'Renamed' });
    expect(validateModelValues(noteModel, { status: 'published' }, 'update')).toEqual({
      status: 'published',
    });
  });

  it('still validates and transforms the fields an update gives', () => {
    expect(() => validateModelValues(noteModel, { title: '' }, 'update')).toThrow(/title/);
    expect(() => validateModelValues(noteModel, { colour: 'red' }, 'update')).toThrow(/no field "colour"/);
  });
});
