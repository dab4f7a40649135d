/**
 * Shared helpers of the benchmarks: real databases of both engines, a timer, and the one-line
 * JSON output every benchmark ends with.
 */
import { performance } from 'node:perf_hooks';
import { createTestDatabase, type EngineName, isPostgresAvailable } from '../test/support/databases.js';

export { createTestDatabase, type EngineName };

/** The engines to measure: both, unless PostgreSQL is unreachable (then said on stderr). */
export async function benchEngines(): Promise<EngineName[]> {
  return (await isPostgresAvailable()) ? ['sqlite', 'postgres'] : ['sqlite'];
}

/** Runs `op` back to back for `ms` milliseconds; returns operations per second. */
export async function opsPerSecond(ms: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  let count = 0;
  while (performance.now() - start < ms) {
    await op(count);
    count += 1;
  }
  return count / ((performance.now() - start) / 1000);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export function round(value: number, places = 3): number {
  const f = 10 ** places;
  return Math.round(value * f) / f;
}

/** Prints the benchmark's result as one JSON line: the line `npm run bench` collects. */
export function printResult(result: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
