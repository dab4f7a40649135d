/**
 * Log pages bounded in bytes as well as rows: one entry of a huge draft must not make a page of the
 * log (the API's or an app's) megabytes long, nor its query parse megabytes. Each entry in a list
 * is held to `entryBytes` (its largest values replaced by a marker, then its last fields left out),
 * each page to `pageBytes`, and a stored entry is read only up to a prefix; the whole entry is one
 * request away (`ActivityLog.entry(id)`, `GET /api/activity/:id`).
 */
import { sql } from 'kysely';
import type { ActivityEntry, FieldChanges } from './activity-entry.js';

export interface ActivityBounds {
  /** Most bytes of one entry's `changes` and `snapshot` in a list. */
  readonly entryBytes: number;
  /** Most bytes of a page's entries; a page always holds at least one. */
  readonly pageBytes: number;
}

export const DEFAULT_ACTIVITY_BOUNDS: ActivityBounds = { entryBytes: 16 * 1024, pageBytes: 256 * 1024 };

/** What stands in a shortened entry for a value too large for a list. */
export interface TruncatedValue {
  readonly $truncated: true;
  /** The value's size as JSON, when it was read whole. */
  readonly bytes?: number;
  /** Its first characters (a string's text, else its JSON). */
  readonly preview: string;
}

const PREVIEW_CHARS = 120;
/** Bytes an entry's other fields (id, time, actor, …) take in JSON, give or take. */
export const ENTRY_OVERHEAD_BYTES = 300;

/** Characters of `changes` and of `snapshot` read for a list: enough to fill an entry, never a whole huge one. */
export function readPrefixChars(bounds: ActivityBounds): number {
  return Math.max(4 * bounds.entryBytes, 64 * 1024);
}

/**
 * The select list's `changes`, `snapshot` and their stored sizes: the text only up to `chars`
 * characters (`substr` and `octet_length` are the same functions on SQLite and PostgreSQL), so a
 * megabyte entry costs the page a prefix, not the megabyte.
 */
export function boundedColumns(chars: number) {
  const limit = sql.lit(chars);
  return [
    sql<string>`substr(changes, 1, ${limit})`.as('changes'),
    sql<string>`substr(snapshot, 1, ${limit})`.as('snapshot'),
    sql<number | string>`octet_length(changes) + octet_length(snapshot)`.as('stored_bytes'),
  ] as const;
}

export const isTruncatedValue = (value: unknown): value is TruncatedValue =>
  typeof value === 'object' && value !== null && (value as { $truncated?: unknown }).$truncated === true;

function marker(value: unknown, bytes?: number): TruncatedValue {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return {
    $truncated: true,
    ...(bytes === undefined ? {} : { bytes }),
    preview: text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text,
  };
}

/** A value whose JSON text was cut short: a marker previewing what was read (a string without its quote). */
function cutValue(text: string): TruncatedValue {
  return marker(text.startsWith('"') ? text.slice(1) : text);
}

/** A `[before, after]` pair of `changes` cut short: `before` whole when it was read whole, the rest markers. */
export function cutPair(text: string): [unknown, unknown] {
  const members = topLevelCommas(text);
  if (!text.startsWith('[') || members.length === 0) return [cutValue(text.slice(1)), cutValue('')];
  const comma = members[0] as number;
  try {
    return [JSON.parse(text.slice(1, comma)), cutValue(text.slice(comma + 1))];
  } catch {
    return [cutValue(text.slice(1)), cutValue('')];
  }
}

/** Positions of the commas at depth 1 of an object's or array's JSON text (strings skipped). */
function topLevelCommas(text: string): number[] {
  const commas: number[] = [];
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth += 1;
    else if (c === '}' || c === ']') depth -= 1;
    else if (depth === 1 && c === ',') commas.push(i);
  }
  return commas;
}

/**
 * The members of a JSON object's text, which may be cut short: every complete member parsed, and
 * the one cut (if its key was read) as `cut` makes it of what was read of its value (by default a
 * marker). Text that is not an object's gives nothing.
 */
export function parseObjectPrefix(
  text: string,
  cut: (valueText: string) => unknown = cutValue,
): Record<string, unknown> {
  try {
    const whole: unknown = JSON.parse(text);
    return typeof whole === 'object' && whole !== null && !Array.isArray(whole)
      ? (whole as Record<string, unknown>)
      : {};
  } catch {
    // Cut short: read it member by member below.
  }
  const out: Record<string, unknown> = {};
  if (!text.startsWith('{')) return out;
  let memberStart = 1;
  for (const comma of topLevelCommas(text)) {
    const member = JSON.parse(`{${text.slice(memberStart, comma)}}`) as Record<string, unknown>;
    for (const [name, value] of Object.entries(member)) setOwn(out, name, value);
    memberStart = comma + 1;
  }
  // The member cut short: its key, when the text reaches past it.
  const rest = text.slice(memberStart);
  const key = /^\s*("(?:[^"\\]|\\.)*")\s*:/.exec(rest);
  if (key?.[1]) {
    const name: unknown = JSON.parse(key[1]);
    if (typeof name === 'string') setOwn(out, name, cut(rest.slice(key[0].length)));
  }
  return out;
}

/** `target[name] = value` as an own property, even for `__proto__` (a stored key like any other). */
function setOwn(target: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
}

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value) ?? 'null');
/** A member's bytes in its object's JSON: `"name":value,`. */
const memberBytes = (name: string, value: unknown) => jsonBytes(name) + jsonBytes(value) + 2;

/**
 * `entry` held to `entryBytes`: unchanged when it fits (and was read whole); else its largest
 * values replaced by markers until it fits, then, if it still does not (thousands of small fields),
 * its last fields left out. The result carries `truncated: { bytes }`, the whole entry's size.
 */
export function boundEntry(
  entry: ActivityEntry,
  storedBytes: number,
  readWhole: boolean,
  entryBytes: number,
): ActivityEntry {
  if (readWhole && storedBytes <= entryBytes) return entry;
  const changes: Record<string, [unknown, unknown]> = {};
  for (const [field, pair] of Object.entries(entry.changes)) {
    setOwn(changes, field, Array.isArray(pair) ? [pair[0], pair[1]] : [pair, pair]);
  }
  const snapshot: Record<string, unknown> = { ...entry.snapshot };
  // Every value with its size, largest first: replacing the few largest usually suffices.
  const slots: Array<{ size: number; get: () => unknown; set: (value: unknown) => void }> = [];
  for (const pair of Object.values(changes)) {
    for (const side of [0, 1] as const) {
      slots.push({ size: jsonBytes(pair[side]), get: () => pair[side], set: (v) => (pair[side] = v) });
    }
  }
  for (const field of Object.keys(snapshot)) {
    slots.push({
      size: jsonBytes(snapshot[field]),
      get: () => snapshot[field],
      set: (v) => setOwn(snapshot, field, v),
    });
  }
  let total = slots.reduce((sum, slot) => sum + slot.size, 0);
  slots.sort((a, b) => b.size - a.size);
  for (const slot of slots) {
    if (total <= entryBytes) break;
    const value = slot.get();
    if (isTruncatedValue(value)) continue;
    const replacement = marker(value, slot.size);
    const size = jsonBytes(replacement);
    if (size >= slot.size) break;
    slot.set(replacement);
    total -= slot.size - size;
  }
  if (total <= entryBytes) return { ...entry, changes, snapshot, truncated: { bytes: storedBytes } };
  // Still too large: many small fields. Keep them in order while they fit, half for each side.
  let kept = 0;
  const keptChanges: FieldChanges = {};
  for (const [field, pair] of Object.entries(changes)) {
    const size = memberBytes(field, pair);
    if (kept + size > entryBytes / 2) break;
    setOwn(keptChanges as Record<string, unknown>, field, pair);
    kept += size;
  }
  const keptSnapshot: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(snapshot)) {
    const size = memberBytes(field, value);
    if (kept + size > entryBytes) break;
    setOwn(keptSnapshot, field, value);
    kept += size;
  }
  return { ...entry, changes: keptChanges, snapshot: keptSnapshot, truncated: { bytes: storedBytes } };
}

/** The bytes an entry of a list takes in a page, give or take. */
export function listedBytes(entry: ActivityEntry): number {
  return jsonBytes(entry.changes) + jsonBytes(entry.snapshot) + ENTRY_OVERHEAD_BYTES;
}
