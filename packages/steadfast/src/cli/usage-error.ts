/**
 * A wrong command line: printed with the usage and ended with exit code 2 (the shell's convention
 * for bad arguments), never a stack trace.
 */
export class UsageError extends Error {
  readonly code = 'usage_error';
  override readonly name = 'UsageError';
}
