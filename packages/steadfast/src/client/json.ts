/**
 * Parsing what storage, the server or another tab hands us: anything unreadable or of the wrong
 * shape (tampered storage, a proxy's HTML error page) reads as absent, never as a thrown error.
 */

/** The parsed value when `accept` takes it, else null (also for null or malformed input). */
export function parseJson<T>(raw: string | null, accept: (value: unknown) => value is T): T | null {
  if (raw === null) return null;
  try {
    const value: unknown = JSON.parse(raw);
    return accept(value) ? value : null;
  } catch {
    return null;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
