import type { FastifyRequest } from 'fastify';
import type { SessionUser } from 'steadfast/fastify';

/**
 * The signed-in user as the demo knows it: the demo signs in with Steadfast's own sessions, whose
 * users carry a numeric id and a username (an app with its own `authenticate` gets its own shape).
 */
export function sessionUserOf(request: FastifyRequest): SessionUser | null {
  return request.user as SessionUser | null;
}

/** For routes behind `requireUser`: a missing user there is a wiring bug, not a user error. */
export function signedInUserId(request: FastifyRequest): number {
  const user = sessionUserOf(request);
  if (!user) throw new Error('route reached without a signed-in user');
  return user.id;
}
