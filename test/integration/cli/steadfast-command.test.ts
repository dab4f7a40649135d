/**
 * The `steadfast` command as an operator runs it: help, usage errors (exit 2), `migrate` creating
 * only Steadfast's tables and `migrate --status` reporting them, on both databases.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../support/databases.js';

const CLI = ['--import', 'tsx', 'packages/steadfast/src/cli/main.ts'];

async function steadfast(args: readonly string[], env: Record<string, string> = {}) {
  return promisify(execFile)(process.execPath, [...CLI, ...args], { env: { ...process.env, ...env } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

describe('steadfast command line', () => {
  it('--help prints every command and exits 0, alone or after a command', async () => {
    for (const args of [['--help'], ['migrate', '--help'], ['activity', 'verify', '-h']]) {
      const { code, stdout } = await steadfast(args);
      expect(code).toBe(0);
      expect(stdout).toMatch(/usage: steadfast <command>/);
      expect(stdout).toMatch(/migrate --status/);
      expect(stdout).toMatch(/activity prune --before <date>/);
    }
  });

  it('answers a missing or unknown command, an unknown option and a bad URL with a usage error (exit 2)', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /no command given/],
      [['migrat'], /unknown command "migrat"/],
      [['activity', 'check'], /unknown command "activity check"/],
      [['migrate', '--stats'], /Unknown option '--stats'/],
      [['activity', 'prune', '--before', 'soon'], /--before is missing or not a date/],
      [['migrate', '--database-url', 'mysql://x'], /must start with "sqlite:" or "postgres:\/\/"/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await steadfast(args, { DATABASE_URL: 'sqlite::memory:' });
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toMatch(message);
      expect(stderr).toMatch(/usage: steadfast/);
      expect(stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describeEachDatabase('steadfast migrate', (current) => {
  it('reports pending, creates only steadfast_* tables, then reports them applied', {
    timeout: 60_000,
  }, async () => {
    const { url } = current();
    // A database with the app's tables but not yet Steadfast's own: drop them to start bare.
    const { db } = current().opened;
    for (const table of [
      'steadfast_sessions',
      'steadfast_users',
      'steadfast_activity_log',
      'steadfast_drafts',
      'steadfast_sync_clients',
      'steadfast_migration',
      'steadfast_migration_lock',
      'steadfast_sessions_migration',
      'steadfast_sessions_migration_lock',
    ]) {
      await db.schema.dropTable(table).ifExists().execute();
    }
    const before = await steadfast(['migrate', '--status', '--database-url', url]);
    expect(before.code).toBe(1);
    expect(before.stdout).toContain('pending  0001_steadfast_core');

    const migrated = await steadfast(['migrate', '--database-url', url]);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toMatch(/applied 0001_steadfast_core/);
    const tables = (await db.introspection.getTables()).map((table) => table.name);
    expect(tables.filter((name) => name.startsWith('steadfast_')).sort()).toEqual([
      'steadfast_activity_log',
      'steadfast_drafts',
      'steadfast_migration',
      'steadfast_migration_lock',
      'steadfast_sync_clients',
    ]);

    const after = await steadfast(['migrate', '--status', '--database-url', url]);
    expect(after.code).toBe(0);
    expect(after.stdout).toContain('applied  0001_steadfast_core');
    const again = await steadfast(['migrate', '--database-url', url]);
    expect(again.stdout).toMatch(/tables are current/);

    const sessions = await steadfast(['migrate', '--sessions', '--database-url', url]);
    expect(sessions.stdout).toMatch(/applied 0001_steadfast_sessions/);
  });
});
