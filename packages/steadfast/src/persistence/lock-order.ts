/**
 * The one order in which batches write rows. Two processes writing overlapping rows in batches
 * then take the rows' locks in the same order on PostgreSQL, and never wait on each other in a
 * cycle (a deadlock PostgreSQL breaks only after a second, failing one of them).
 */

/** Numbers by value, anything else by its text's code units (not the locale). */
export function compareKeys(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const left = String(a);
  const right = String(b);
  return left < right ? -1 : left > right ? 1 : 0;
}
