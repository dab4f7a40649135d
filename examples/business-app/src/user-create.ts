/**
 * `npm run user:create -- --username alice --name "Alice Smith" --role admin`: creates a user,
 * reading the password from standard input (never from the command line, where `ps` would show
 * it). The role is `admin`, `editor` or `viewer` (roles.ts; default `viewer`). The creation goes
 * through the persistence manager, so it is logged, role included (the hash as "[changed]").
 *
 *   printf '%s\n' 'a long passphrase' | npm run user:create -- --username alice --name Alice --role admin
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { ValidationError } from 'steadfast/persistence';
import { z } from 'zod';
import { createAppPersistence, openAppDatabase } from './app-database.js';
import { DEFAULT_DATABASE_URL } from './config.js';
import { ROLES } from './roles.js';
import { createAppUser } from './users.js';

/** Prints a usage error and exits 2, the shell's convention for bad arguments. */
function usageError(message: string): never {
  console.error(message);
  process.exit(2);
}

const MIN_PASSWORD_LENGTH = 10;

const USAGE = `usage: npm run user:create -- --username <name> [--name "Display Name"] [--role ${ROLES.join('|')}]`;
let values: Record<string, unknown> = {};
try {
  values = parseArgs({
    options: { username: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' } },
    strict: true,
  }).values;
} catch (error) {
  usageError(`${USAGE}  (${error instanceof Error ? error.message : String(error)})`);
}
const args = z
  .object({
    username: z.string().min(1, '--username is required'),
    name: z.string().min(1).optional(),
    role: z.enum(ROLES, `--role must be one of ${ROLES.join(', ')}`).default('viewer'),
  })
  .safeParse(values);
if (!args.success) usageError(`${USAGE}  (${args.error.issues[0]?.message})`);

if (process.stdin.isTTY) process.stderr.write(`Password for ${args.data.username} (then Enter): `);
const lines = createInterface({ input: process.stdin, terminal: false });
const password = await new Promise<string>((resolve) => {
  lines.once('line', (line) => resolve(line));
  lines.once('close', () => resolve(''));
});
lines.close();
if (password.length < MIN_PASSWORD_LENGTH) {
  usageError(`the password (read from standard input) must be at least ${MIN_PASSWORD_LENGTH} characters`);
}

const database = await openAppDatabase(process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL);
try {
  const persistence = createAppPersistence({ db: database.db });
  const user = await persistence.runAs('user:create', () =>
    createAppUser(persistence, {
      username: args.data.username,
      displayName: args.data.name ?? args.data.username,
      password,
      role: args.data.role,
    }),
  );
  console.log(`created user ${user.username} (id ${user.id}, ${args.data.role})`);
} catch (error) {
  if (error instanceof ValidationError) usageError(`cannot create the user: ${error.message}`);
  throw error;
} finally {
  await database.close();
}
