/**
 * Which PostgreSQL errors make the persistence manager run a save again with its statements
 * prepared afresh: a stale statement, and nothing else that shares its SQLSTATE.
 */
import { describe, expect, it } from 'vitest';
import { isStalePreparedStatement } from '../../../packages/steadfast/src/db/prepared-statements.js';

describe('isStalePreparedStatement', () => {
  it('takes a cached plan whose result type changed, and a statement name the server lost', () => {
    // As pg reports them: `cached plan must not change result type`, `prepared statement … does not exist`.
    expect(isStalePreparedStatement({ code: '0A000', routine: 'RevalidateCachedQuery' })).toBe(true);
    expect(isStalePreparedStatement({ code: '26000', routine: 'FetchPreparedStatement' })).toBe(true);
    // A proxy that drops the routine: taken as stale rather than failing the save.
    expect(isStalePreparedStatement({ code: '0A000' })).toBe(true);
  });

  it('leaves any other feature_not_supported error, and every other error, to fail once', () => {
    expect(isStalePreparedStatement({ code: '0A000', routine: 'transformLockingClause' })).toBe(false);
    expect(isStalePreparedStatement({ code: '23505', routine: '_bt_check_unique' })).toBe(false);
    expect(isStalePreparedStatement(new Error('cached plan must not change result type'))).toBe(false);
    expect(isStalePreparedStatement(undefined)).toBe(false);
    expect(isStalePreparedStatement('0A000')).toBe(false);
  });
});
