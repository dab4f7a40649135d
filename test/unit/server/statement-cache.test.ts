/**
 * withStatementCache: each SQL text prepared once, and long lists of plain values passed to
 * better-sqlite3 spread, with the same results and the same refusals as the array form.
 */
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withStatementCache } from '../../../packages/steadfast/src/db/statement-cache.js';

describe('withStatementCache', () => {
  let file: Database.Database;
  beforeEach(() => {
    file = new Database(':memory:');
    file.exec('create table t (id integer primary key, a text, b integer, c blob)');
  });
  afterEach(() => file.close());

  const insertOf = (rows: number) =>
    `insert into t (id, a, b, c) values ${Array.from({ length: rows }, () => '(?, ?, ?, ?)').join(', ')}`;

  it('prepares each SQL text once', () => {
    const cached = withStatementCache(file);
    expect(cached.prepare('select 1')).toBe(cached.prepare('select 1'));
  });

  it('runs and reads long parameter lists of plain values as the array form does', () => {
    const cached = withStatementCache(file);
    const parameters = Array.from({ length: 50 }, (_, i) => [
      i + 1,
      `row ${i}`,
      i % 2 ? null : 10n ** 12n,
      null,
    ]).flat();
    expect(cached.prepare(insertOf(50)).run(parameters)).toMatchObject({ changes: 50 });
    const ids = Array.from({ length: 40 }, (_, i) => i + 1);
    const rows = cached.prepare(
      `select id, a, b from t where id in (${ids.map(() => '?').join(', ')}) order by id`,
    );
    expect(rows.all(ids)).toEqual(file.prepare('select id, a, b from t where id <= 40 order by id').all());
  });

  it('keeps the array form for values that are not plain: a Buffer binds, an object or array is refused', () => {
    const cached = withStatementCache(file);
    const row = (i: number, c: unknown) => [i, 'x', i, c];
    const plain = Array.from({ length: 20 }, (_, i) => row(i + 1, null)).flat();
    const withBuffer = [...plain.slice(0, -4), ...row(20, Buffer.from([1, 2]))];
    expect(cached.prepare(insertOf(20)).run(withBuffer)).toMatchObject({ changes: 20 });
    expect(file.prepare('select c from t where id = 20').get()).toEqual({ c: Buffer.from([1, 2]) });
    for (const wrong of [{ a: 1 }, [1, 2], undefined, true]) {
      const parameters = [...plain.slice(0, -4), ...row(40, wrong)].map((v, i) =>
        i % 4 === 0 ? Number(v) + 100 : v,
      );
      const statement = file.prepare(insertOf(20));
      const expected = (() => {
        try {
          statement.run(parameters);
          return undefined;
        } catch (error) {
          return (error as Error).message;
        }
      })();
      expect(() => cached.prepare(insertOf(20)).run(parameters)).toThrow(expected);
    }
  });
});
