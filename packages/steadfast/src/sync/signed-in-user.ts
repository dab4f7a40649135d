/**
 * Who a request acts for: whatever the app's own sign-in says (`authenticate`), or the user of
 * Steadfast's own sessions. Steadfast needs only an id; drafts, sync clients and the log store it
 * as text, so numbers, UUIDs and JWT subjects all work.
 */
export interface SignedInUser {
  /** The user's id in the app. */
  readonly id: string | number;
  /** Shown in the log and on pages when given. */
  readonly displayName?: string;
}

/** The id as drafts, sync clients and the log store it. */
export function userKey(user: SignedInUser): string {
  return String(user.id);
}
