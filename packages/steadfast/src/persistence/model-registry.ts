/**
 * What the persistence manager knows of each model: its table, primary key, which fields it
 * tracks, which must never be logged in clear, and how to validate values before writing.
 */
import type { z } from 'zod';
import { REFUSAL_MODEL } from './authorize.js';
import { UnknownModelError } from './errors.js';

export interface ModelDefinition {
  /** The name callers and the log use, e.g. `Product`. */
  readonly name: string;
  readonly table: string;
  readonly primaryKey: string;
  /** True when the database assigns the key on insert (identity / rowid). */
  readonly generatedKey: boolean;
  /** Fields whose changes are logged. Every tracked table also has an integer `version` column. */
  readonly trackedFields: readonly string[];
  /** Tracked fields logged only as `"[changed]"`, never their values (password hashes, tokens). */
  readonly secretFields?: readonly string[];
  /**
   * Validates the values of a save. Applied as is for a create and `.partial()`-style (only the
   * fields given) for an update, so it should be a zod object of the writable fields.
   */
  readonly schema?: z.ZodObject;
  /** Columns stamped with the save's time. */
  readonly createdAtColumn?: string;
  readonly updatedAtColumn?: string;
}

export const REDACTED = '[changed]';

export class ModelRegistry {
  readonly #models = new Map<string, ModelDefinition>();

  constructor(definitions: readonly ModelDefinition[] = []) {
    for (const definition of definitions) this.register(definition);
  }

  register(definition: ModelDefinition): this {
    if (definition.name === REFUSAL_MODEL)
      throw new Error(`model name "${REFUSAL_MODEL}" is kept by Steadfast for the log's refusals`);
    if (this.#models.has(definition.name))
      throw new Error(`model "${definition.name}" is already registered`);
    for (const secret of definition.secretFields ?? []) {
      if (!definition.trackedFields.includes(secret)) {
        throw new Error(`model "${definition.name}": secret field "${secret}" is not tracked`);
      }
    }
    this.#models.set(definition.name, Object.freeze({ ...definition }));
    return this;
  }

  get(name: string): ModelDefinition {
    const definition = this.#models.get(name);
    if (!definition) throw new UnknownModelError(name);
    return definition;
  }

  has(name: string): boolean {
    return this.#models.has(name);
  }

  all(): ModelDefinition[] {
    return [...this.#models.values()];
  }
}
