/**
 * Signing in and out, and creating users. The session stores the signed-in user; sign-in
 * regenerates the session id first, so an id planted before sign-in (session fixation) is
 * worthless afterwards.
 */
import type { FastifyRequest } from 'fastify';
import type { Persistence } from '../../../persistence/create-persistence.js';
import { userModel } from '../../../persistence/user-model.js';
import { isStorableText } from '../../../protocol/storable-text.js';
import { decoyPasswordHash, hashPassword, verifyPassword } from '../../passwords.js';
import type { SessionUser } from '../../session-user.js';

declare module 'fastify' {
  interface Session {
    user?: SessionUser;
  }
}

/**
 * Checks the password against the user's scrypt hash; on success starts a fresh session for
 * them and returns them, else returns null (unknown user and wrong password look alike, in
 * answer and in time).
 *
 * @example const user = await signIn(request, body.username, body.password)
 */
export async function signIn(
  request: FastifyRequest,
  username: string,
  password: string,
): Promise<SessionUser | null> {
  if (typeof username !== 'string' || typeof password !== 'string' || username.length > 200) return null;
  const persistence = request.server.persistence;
  const name = username.trim().toLowerCase();
  // No user name holds NUL, and PostgreSQL refuses one as a query parameter (a 500): such a name
  // is an unknown user, still checked against the decoy hash so it answers in the same time.
  const row = !isStorableText(name)
    ? undefined
    : await persistence.context
        .executor()
        .selectFrom('steadfast_users')
        .select(['id', 'username', 'display_name', 'password_hash'])
        .where('username', '=', name)
        .executeTakeFirst();
  const hash = (row?.password_hash as string | undefined) ?? (await decoyPasswordHash());
  const valid = await verifyPassword(password, hash);
  if (!row || !valid) return null;
  const user: SessionUser = {
    id: Number(row.id),
    username: row.username as string,
    displayName: row.display_name as string,
  };
  await request.session.regenerate();
  request.session.set('user', user);
  request.user = user;
  return user;
}

/** Ends the session: its row is deleted and the cookie no longer names anything. */
export async function signOut(request: FastifyRequest): Promise<void> {
  request.user = null;
  if (typeof request.session?.destroy === 'function') await request.session.destroy();
}

export interface NewUser {
  readonly username: string;
  readonly displayName: string;
  readonly password: string;
}

/**
 * Creates a user through the persistence manager, so the creation is logged; the password hash is
 * a secret field and is logged only as "[changed]".
 *
 * @example const user = await createUser(persistence, { username: 'ada', displayName: 'Ada', password: 's3cret!' })
 */
export async function createUser(persistence: Persistence, user: NewUser): Promise<SessionUser> {
  if (!persistence.registry.has(userModel.name)) persistence.registry.register(userModel);
  const password_hash = await hashPassword(user.password);
  const { record } = await persistence.autoSave('User', {
    username: user.username,
    display_name: user.displayName,
    password_hash,
  });
  return {
    id: Number(record.id),
    username: String(record.username),
    displayName: String(record.display_name),
  };
}
