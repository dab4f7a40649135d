/**
 * Making the demo's users: Steadfast's own (its sign-in's), with the demo's role, saved in one
 * logged create (the role in it, the password hash only as "[changed]").
 */
import { hashPassword, type NewUser, type SessionUser } from 'steadfast/fastify';
import type { Persistence } from 'steadfast/persistence';
import type { Role } from './roles.js';

export interface NewAppUser extends NewUser {
  readonly role: Role;
}

/** @example await createAppUser(persistence, { username: 'ada', displayName: 'Ada', password, role: 'editor' }) */
export async function createAppUser(persistence: Persistence, user: NewAppUser): Promise<SessionUser> {
  const { record } = await persistence.autoSave('User', {
    username: user.username,
    display_name: user.displayName,
    password_hash: await hashPassword(user.password),
    role: user.role,
  });
  return {
    id: Number(record.id),
    username: String(record.username),
    displayName: String(record.display_name),
  };
}
