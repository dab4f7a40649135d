import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import {
  DatabaseUrlError,
  parseDatabaseUrl,
  pendingMigrations,
} from '../../../packages/steadfast/src/db/index.js';
import { describeEachDatabase } from '../../support/databases.js';

describeEachDatabase('openDatabase', (current) => {
  it('migrates to the newest schema on open', async () => {
    expect(await pendingMigrations(current().opened.db, { sessions: true })).toEqual([]);
    const { db } = current().opened;
    const count = await db
      .selectFrom('steadfast_activity_log')
      .select(db.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(count.n).toBe(0);
  });

  it('returns int8 columns as numbers, not strings', async () => {
    const { db } = current().opened;
    const row = await sql<{ n: number }>`select cast(9007199254740991 as bigint) as n`.execute(db);
    expect(row.rows[0]?.n).toBe(9007199254740991);
  });

  it('runs SQLite in WAL with synchronous=FULL', async () => {
    if (current().engine !== 'sqlite') return;
    const { db } = current().opened;
    const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(db);
    const sync = await sql<{ synchronous: number }>`pragma synchronous`.execute(db);
    expect(mode.rows[0]?.journal_mode).toBe('wal');
    expect(sync.rows[0]?.synchronous).toBe(2);
  });
});

describe('parseDatabaseUrl', () => {
  it('accepts sqlite and postgres URLs', () => {
    expect(parseDatabaseUrl('sqlite:./data/app.db')).toEqual({
      dialect: 'sqlite',
      location: './data/app.db',
    });
    expect(parseDatabaseUrl('postgres://u@h/db').dialect).toBe('postgres');
    expect(parseDatabaseUrl('postgresql://u@h/db').dialect).toBe('postgres');
  });

  it('names what is wrong, without leaking the password', () => {
    expect(() => parseDatabaseUrl('mysql://u:secret@h/db')).toThrow(DatabaseUrlError);
    expect(() => parseDatabaseUrl('mysql://u:secret@h/db')).toThrow(/u:\*\*\*@h/);
    expect(() => parseDatabaseUrl('sqlite:')).toThrow(/names no SQLite file/);
  });
});
