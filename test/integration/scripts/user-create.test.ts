import { spawn } from 'node:child_process';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { verifyPassword } from '../../../packages/steadfast/src/http/index.js';
import { describeEachDatabase } from '../../support/databases.js';

function runUserCreate(url: string, args: string[], stdin: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'examples/business-app/src/user-create.ts', ...args],
      {
        env: { ...process.env, DATABASE_URL: url },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

describeEachDatabase('npm run user:create', (current) => {
  it('creates a user whose password verifies, logged with the hash redacted', async () => {
    const result = await runUserCreate(
      current().url,
      ['--username', 'carol', '--name', 'Carol C'],
      'a long passphrase\n',
    );
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/created user carol \(id \d+, viewer\)/);
    const { db } = current().opened;
    const user = await db
      .selectFrom('steadfast_users')
      .selectAll()
      .where('username', '=', 'carol')
      .executeTakeFirstOrThrow();
    expect(user.display_name).toBe('Carol C');
    expect(await verifyPassword('a long passphrase', user.password_hash)).toBe(true);
    const log = await db
      .selectFrom('steadfast_activity_log')
      .selectAll()
      .where('model', '=', 'User')
      .execute();
    expect(log).toHaveLength(1);
    expect(log[0]?.actor).toBe('user:create');
    expect(log[0]?.changes).not.toContain(user.password_hash);
  });

  it('refuses a short password, a bad username and a taken one, naming the problem', async () => {
    const short = await runUserCreate(current().url, ['--username', 'dave'], 'short\n');
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/at least 10 characters/);
    const bad = await runUserCreate(current().url, ['--username', 'Not Valid!'], 'a long passphrase\n');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/username/);
    const taken = await runUserCreate(current().url, ['--username', 'carol'], 'a long passphrase\n');
    expect(taken.code).toBe(2);
    expect(taken.stderr).toMatch(/username is already taken/);
  });

  it('gives the user the role asked for, in the logged creation; a role that is none is a usage error', async () => {
    const made = await runUserCreate(
      current().url,
      ['--username', 'erin', '--role', 'editor'],
      'a long passphrase\n',
    );
    expect(made.stderr).toBe('');
    expect(made.stdout).toMatch(/created user erin \(id \d+, editor\)/);
    const { db } = current().opened;
    const { rows } = await sql<{
      role: string;
    }>`select role from steadfast_users where username = 'erin'`.execute(db);
    expect(rows).toEqual([{ role: 'editor' }]);
    const created = await db
      .selectFrom('steadfast_activity_log')
      .select('changes')
      .where('model', '=', 'User')
      .where('action', '=', 'create')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(JSON.parse(created.changes).role).toEqual([null, 'editor']);

    const bad = await runUserCreate(
      current().url,
      ['--username', 'fred', '--role', 'boss'],
      'a long passphrase\n',
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--role must be one of admin, editor, viewer/);
    const { rows: none } = await sql`select id from steadfast_users where username = 'fred'`.execute(db);
    expect(none).toEqual([]);
  });
});
