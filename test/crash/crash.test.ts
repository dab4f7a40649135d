/**
 * The short form of `npm run test:crash`, inside `npm test`: a real app process under sync load,
 * SIGKILLed at random moments and restarted, three times on each database. After every restart
 * each acknowledged change is present exactly once, the ActivityLog verifies, SQLite's
 * integrity_check is ok, and every record and draft equals the last snapshot in its log.
 */
import { describe, expect, it } from 'vitest';
import { isPostgresAvailable } from '../support/databases.js';
import { runCrashTest } from './crash-run.js';

const KILLS = 3;

describe('crash test: SIGKILL under sync load', () => {
  for (const engine of ['sqlite', 'postgres'] as const) {
    it(`keeps every acknowledged change exactly once across ${KILLS} kills [${engine}]`, async (context) => {
      if (engine === 'postgres' && !(await isPostgresAvailable())) context.skip();
      const report = await runCrashTest({ engine, kills: KILLS, clientsPerUser: 1 });
      expect(report.problems).toEqual([]);
      expect(report.acknowledgedMutations).toBeGreaterThan(0);
      // Retries of applied batches really happened, so "exactly once" was put to the test.
      expect(report.duplicatesAnswered).toBeGreaterThan(0);
      expect(report.appliedMutations).toBe(report.acknowledgedMutations);
      console.log(
        `[crash ${engine}] ${report.kills} kills: ${report.acknowledgedMutations} acknowledged, ` +
          `${report.appliedMutations} applied once, ${report.duplicatesAnswered} duplicates answered, ` +
          `${report.logEntries} log entries verified`,
      );
    }, 400_000);
  }
});
