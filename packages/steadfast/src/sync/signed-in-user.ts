import type { Persistence } from '../persistence/create-persistence.js';

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

/**
 * Runs `fn` as `user`: in their request's frame when the adapter entered one (the Fastify
 * middleware does, with the request id and address), else in a frame naming them, so that the
 * `authorize` hook asked inside hears who asks whichever adapter serves the request.
 */
export function asUser<T>(persistence: Persistence, user: SignedInUser, fn: () => Promise<T>): Promise<T> {
  const actor = userKey(user);
  if (persistence.context.actor().actor === actor) return fn();
  return persistence.runAs({ actor }, fn);
}
