/**
 * The log stores actors as user ids (or a script's name); pages show people's names. One query
 * per page, for the ids on it.
 */
import type { Persistence } from 'steadfast/persistence';
import { reader } from './database-reader.js';

/** Names for actors that are not users. */
const NON_USER_ACTORS: Readonly<Record<string, string>> = {
  system: 'System',
  seed: 'Demo data (seed)',
};

export type ActorNames = ReadonlyMap<string, string>;

export async function resolveActorNames(
  persistence: Persistence,
  actors: Iterable<string>,
): Promise<ActorNames> {
  const names = new Map<string, string>();
  const userIds: number[] = [];
  for (const actor of new Set(actors)) {
    const known = NON_USER_ACTORS[actor];
    if (known !== undefined) names.set(actor, known);
    else if (/^\d{1,15}$/.test(actor)) userIds.push(Number(actor));
    else names.set(actor, actor);
  }
  if (userIds.length > 0) {
    const users = await reader(persistence)
      .selectFrom('steadfast_users')
      .select(['id', 'display_name', 'username'])
      .where('id', 'in', userIds)
      .execute();
    for (const user of users) names.set(String(user.id), `${user.display_name} (${user.username})`);
  }
  // A deleted user's id still names somebody: say so rather than showing a bare number.
  for (const id of userIds) if (!names.has(String(id))) names.set(String(id), `User #${id}`);
  return names;
}

/** Everyone who can appear as an actor, for the activity filter. */
export async function listActorChoices(
  persistence: Persistence,
): Promise<readonly { value: string; label: string }[]> {
  const users = await reader(persistence)
    .selectFrom('steadfast_users')
    .select(['id', 'display_name', 'username'])
    .orderBy('display_name')
    .execute();
  return [
    ...users.map((user) => ({ value: String(user.id), label: `${user.display_name} (${user.username})` })),
    ...Object.entries(NON_USER_ACTORS).map(([value, label]) => ({ value, label })),
  ];
}
