/**
 * Real faults inside the database, installed as triggers: the engine itself fails the log write
 * or alters a row behind the writer's back. No mocks: the persistence manager meets the same
 * errors it would meet in production.
 */
import { sql } from 'kysely';
import type { TestDatabase } from './databases.js';

export type FaultKind = 'log-insert-fails' | 'row-tampered-on-write';

/** Installs the fault; the returned function removes it. */
export async function installFault(database: TestDatabase, kind: FaultKind): Promise<() => Promise<void>> {
  const { db } = database.opened;
  if (database.engine === 'sqlite') {
    if (kind === 'log-insert-fails') {
      await sql`create trigger fault_log before insert on steadfast_activity_log
        begin select raise(abort, 'injected: log write failed'); end`.execute(db);
      return async () => void (await sql`drop trigger fault_log`.execute(db));
    }
    await sql`create trigger fault_tamper_u after update on products
      begin update products set name = name || ' (tampered)' where id = new.id and name not like '% (tampered)'; end`.execute(
      db,
    );
    await sql`create trigger fault_tamper_i after insert on products
      begin update products set name = name || ' (tampered)' where id = new.id; end`.execute(db);
    return async () => {
      await sql`drop trigger fault_tamper_u`.execute(db);
      await sql`drop trigger fault_tamper_i`.execute(db);
    };
  }
  if (kind === 'log-insert-fails') {
    await sql`create or replace function fault_log() returns trigger language plpgsql as $$
      begin raise exception 'injected: log write failed'; end $$`.execute(db);
    await sql`create trigger fault_log before insert on steadfast_activity_log for each row execute function fault_log()`.execute(
      db,
    );
    return async () => {
      await sql`drop trigger fault_log on steadfast_activity_log`.execute(db);
    };
  }
  await sql`create or replace function fault_tamper() returns trigger language plpgsql as $$
    begin new.name := new.name || ' (tampered)'; return new; end $$`.execute(db);
  await sql`create trigger fault_tamper before insert or update on products for each row execute function fault_tamper()`.execute(
    db,
  );
  return async () => {
    await sql`drop trigger fault_tamper on products`.execute(db);
  };
}
