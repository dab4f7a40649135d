/**
 * Command-line options read with node:util's parseArgs, strictly: an unknown or malformed option
 * ends the script with a usage error (exit 2) naming it, never with a stack trace.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { usageError } from './cli-database.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCliArguments<T extends Options>(options: T, usage: string) {
  try {
    return parseArgs({ options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    return usageError(`${usage}  (${error instanceof Error ? error.message : String(error)})`);
  }
}
