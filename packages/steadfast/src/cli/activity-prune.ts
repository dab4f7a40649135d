/**
 * `npm run activity:prune -- --before <date>`: removes log entries older than the date, keeping
 * each record's newest removed-era entry as a checkpoint so the rest still verifies.
 */
import { z } from 'zod';
import { pruneActivityLog } from '../persistence/index.js';
import { parseCliArguments } from './cli-arguments.js';
import { openCliDatabase, usageError } from './cli-database.js';

const USAGE = 'usage: npm run activity:prune -- --before <YYYY-MM-DD or ISO date-time>';
const values = parseCliArguments({ before: { type: 'string' } }, USAGE);
const before = z.union([z.iso.date(), z.iso.datetime({ offset: true })]).safeParse(values.before);
if (!before.success) usageError(`${USAGE}  (--before is missing or not a date)`);

const database = await openCliDatabase();
try {
  const result = await pruneActivityLog(database.db, new Date(before.data));
  console.log(
    `pruned ${result.removed} entries before ${new Date(before.data).toISOString()}; ${result.checkpoints} checkpoint(s) kept`,
  );
} finally {
  await database.close();
}
