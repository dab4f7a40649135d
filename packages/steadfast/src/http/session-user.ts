/** The signed-in user as every request sees it (`request.user`). */
export interface SessionUser {
  readonly id: number;
  readonly username: string;
  readonly displayName: string;
}

/** Reads a SessionUser out of untrusted session data; null unless every field is well formed. */
export function parseSessionUser(value: unknown): SessionUser | null {
  if (value === null || typeof value !== 'object') return null;
  const { id, username, displayName } = value as Record<string, unknown>;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) return null;
  if (typeof username !== 'string' || typeof displayName !== 'string') return null;
  return { id, username, displayName };
}
