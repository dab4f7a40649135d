/**
 * Command-line options read with node:util's parseArgs, strictly: an unknown or malformed option
 * is a UsageError naming it.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './usage-error.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
export type ParsedOptions = Record<string, string | boolean | undefined>;

export function parseOptions(args: readonly string[], options: OptionSpec): ParsedOptions {
  try {
    const { values } = parseArgs({ args: [...args], options, strict: true, allowPositionals: false });
    return values as ParsedOptions;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}
