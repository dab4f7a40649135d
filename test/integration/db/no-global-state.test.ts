/**
 * Importing an entry point and opening a database changes nothing outside Steadfast's own objects:
 * pg's process-wide type parsers stay the app's (int8 is parsed to numbers for Steadfast's own pool
 * only).
 */
import pg from 'pg';
import { expect, it } from 'vitest';
import { ADMIN_PG_URL, isPostgresAvailable } from '../../support/databases.js';

it('leaves pg.types untouched on import and on openDatabase, while its own pool reads int8 as numbers', async () => {
  const before = pg.types.getTypeParser(pg.types.builtins.INT8);
  const { openDatabase } = await import('steadfast/persistence');
  await import('steadfast/fastify');
  await import('steadfast/express');
  expect(pg.types.getTypeParser(pg.types.builtins.INT8)).toBe(before);
  if (!(await isPostgresAvailable())) return;
  const database = await openDatabase(ADMIN_PG_URL, { migrate: false });
  try {
    const { rows } = await (await import('kysely')).sql<{
      n: unknown;
    }>`select 9007199254740991::bigint as n`.execute(database.db);
    expect(rows[0]?.n).toBe(9007199254740991);
    expect(pg.types.getTypeParser(pg.types.builtins.INT8)).toBe(before);
    expect(pg.types.getTypeParser(pg.types.builtins.INT8)('12')).toBe('12');
  } finally {
    await database.close();
  }
});
