/**
 * Whether the value a row was read back with is the value the save wrote: the check behind
 * VerificationError. The database may spell a value as its column does without changing it: a
 * numeric(10,2) column stores "5" as "5.00", SQLite's NUMERIC affinity "5.00" as 5, a timestamptz
 * column "2026-01-01T00:00:00Z" as a Date of that instant, a date column "2026-01-01" as a Date at
 * local midnight of that day (node-postgres). Those are the value written and pass. A value the
 * column changed does not: a numeric(10,2) column rounding "5.001" to "5.00", a timestamp(0)
 * column rounding away its milliseconds, a trigger rewriting it, text stored otherwise.
 *
 * Deciding whether a save changes anything (planUpdate) is stricter: a value read as a string may
 * be a text column's, which a save of "5" over "5.00" does change. Only a value the driver read as
 * a number or a Date, which no text column gives, is compared as a decimal or an instant there.
 */
import { normalise, sameValue } from './change-tracker.js';

/** Whether `stored`, as read back from the database, is `written`, as the save wrote it (see above). */
export function storedAs(stored: unknown, written: unknown): boolean {
  const actual = normalise(stored);
  const expected = normalise(written);
  return (
    sameValue(actual, expected) ||
    sameScalar(actual, expected) ||
    sameDecimal(actual, expected) ||
    sameInstant(actual, expected) ||
    sameDay(stored, expected)
  );
}

/**
 * Whether saving `written` over `current` (a field as read from the database) would store what is
 * there already, so that a save of it changes nothing (see above).
 */
export function unchangedBy(current: unknown, written: unknown): boolean {
  const actual = normalise(current);
  const expected = normalise(written);
  if (sameValue(actual, expected)) return true;
  if (typeof current === 'number' || typeof current === 'bigint') return sameDecimal(actual, expected);
  if (current instanceof Date) return sameInstant(actual, expected) || sameDay(current, expected);
  return false;
}

/** 1 and "1" read back alike from some drivers; the text must still match exactly. */
function sameScalar(a: unknown, b: unknown): boolean {
  const scalar = (v: unknown) => typeof v === 'number' || typeof v === 'string';
  return scalar(a) && scalar(b) && String(a) === String(b);
}

/** A decimal in text, optionally signed, with a fraction and an exponent, surrounding blanks allowed (as PostgreSQL's numeric input). */
const DECIMAL = /^\s*([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/;

/**
 * The decimal `value` stands for, exactly, as `<digits>e<exponent>` with no leading or trailing
 * zero in the digits; undefined for anything that is not a decimal. Exact: two decimals that one
 * double would round alike (1 and 1.000000000000000000001) stay apart.
 */
function canonicalDecimal(value: unknown): string | undefined {
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : undefined) : value;
  if (typeof text !== 'string') return undefined;
  const match = DECIMAL.exec(text);
  if (!match) return undefined;
  const [, sign, whole = '', fraction = '', exponent = '0'] = match;
  if (whole === '' && fraction === '') return undefined;
  const significant = `${whole}${fraction}`.replace(/^0+/, '');
  const digits = significant.replace(/0+$/, '');
  if (digits === '') return '0';
  const scale = Number(exponent) - fraction.length + (significant.length - digits.length);
  return `${sign === '-' ? '-' : ''}${digits}e${scale}`;
}

function sameDecimal(a: unknown, b: unknown): boolean {
  const left = canonicalDecimal(a);
  return left !== undefined && left === canonicalDecimal(b);
}

/** A date and time with its offset from UTC, as ISO 8601 or PostgreSQL's text output writes it. */
const TIMESTAMP_WITH_ZONE =
  /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;

/** Milliseconds since the epoch of a timestamp with its zone; undefined for anything else. */
function instantOf(value: unknown): number | undefined {
  if (typeof value !== 'string' || !TIMESTAMP_WITH_ZONE.test(value)) return undefined;
  const iso = value
    .replace(' ', 'T')
    .replace(/([+-]\d{2})$/, '$1:00')
    .replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const time = Date.parse(iso);
  return Number.isFinite(time) ? time : undefined;
}

function sameInstant(a: unknown, b: unknown): boolean {
  const left = instantOf(a);
  return left !== undefined && left === instantOf(b);
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A day written as text, read back as node-postgres reads a date column: a Date at local midnight of that day. */
function sameDay(stored: unknown, written: unknown): boolean {
  if (!(stored instanceof Date) || typeof written !== 'string') return false;
  const day = DAY.exec(written);
  return (
    day !== null &&
    stored.getFullYear() === Number(day[1]) &&
    stored.getMonth() + 1 === Number(day[2]) &&
    stored.getDate() === Number(day[3]) &&
    stored.getHours() === 0 &&
    stored.getMinutes() === 0 &&
    stored.getSeconds() === 0 &&
    stored.getMilliseconds() === 0
  );
}
