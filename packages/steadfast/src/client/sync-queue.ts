/**
 * The queue of changes waiting for the server, shared by every tab of one user through storage.
 *
 * Two stages, both persisted so a reload or crash loses nothing and never reuses an id:
 * 1. markers (`p:<kind>:<key>`): "this draft changed since it was last queued". Writing one costs a
 *    keystroke only the first time; the data itself is read when the marker is turned into a change,
 *    so ten bursts on one form become one change with the latest data.
 * 2. the outbox: changes with mutation ids assigned, in order, kept until the server acknowledges
 *    them. A retried batch carries the same ids, so the server answers `duplicate` rather than
 *    applying twice. Ids stay contiguous: parking an invalid change renumbers the ones after it.
 */
import type { ChangeKind } from '../protocol/constants.js';
import type { SyncChange } from '../protocol/sync.js';
import { isSyncableKey } from './form-key.js';
import { isRecord, parseJson } from './json.js';
import type { JsonValue, LocalStore } from './local-store.js';

export interface ChangeData {
  readonly data: JsonValue | null;
  readonly baseVersion: number | null;
  readonly savedAt: number;
}

export interface ParkedChange {
  readonly change: SyncChange;
  readonly reason: string;
}

/** Reads a draft's current data when its marker is turned into a change. */
export type ChangeDataReader = (kind: ChangeKind, key: string) => ChangeData;

/** Gives the changes new consecutive ids starting at `firstId` (same order, same content). */
export function renumber(changes: readonly SyncChange[], firstId: number): SyncChange[] {
  return changes.map((change, index) => ({ ...change, mutationId: firstId + index }));
}

/**
 * The server said it expects `expected` next (409 mutation_gap). Changes it already has are
 * answered as duplicates and never cause a gap, so a gap means ids before our first change never
 * arrived (parked or lost): renumber from what the server expects.
 */
export function reconcileWithExpected(
  outbox: readonly SyncChange[],
  expected: number,
): readonly SyncChange[] {
  const first = outbox[0];
  if (first === undefined || first.mutationId <= expected) return outbox;
  return renumber(outbox, expected);
}

const encoder = new TextEncoder();

/** Bytes of `value` as JSON in UTF-8, as a request body carries it. */
function jsonBytes(value: unknown): number {
  return encoder.encode(JSON.stringify(value)).length;
}

/** The longest prefix of `changes` whose request body fits in `limitBytes` (possibly none). */
export function takeWithinBytes(
  clientId: string,
  changes: readonly SyncChange[],
  limitBytes: number,
): SyncChange[] {
  let size = jsonBytes({ clientId, changes: [] });
  const taken: SyncChange[] = [];
  for (const change of changes) {
    // +1 for the comma between array items.
    size += jsonBytes(change) + (taken.length > 0 ? 1 : 0);
    if (size > limitBytes) break;
    taken.push(change);
  }
  return taken;
}

function isSyncChange(value: unknown): value is SyncChange {
  return (
    isRecord(value) &&
    typeof value.mutationId === 'number' &&
    typeof value.key === 'string' &&
    'data' in value
  );
}

/** The items of a stored list that `accept` takes; a missing or unreadable list is empty. */
function parseList<T>(raw: string | null, accept: (item: unknown) => item is T): T[] {
  return parseJson(raw, Array.isArray)?.filter(accept) ?? [];
}

function isParkedChange(value: unknown): value is ParkedChange {
  return isRecord(value) && isSyncChange(value.change);
}

interface PendingMarker {
  readonly storageKey: string;
  readonly kind: ChangeKind;
  readonly key: string;
  readonly since: number;
}

export class SyncQueue {
  /** Markers this tab knows exist, so a keystroke writes its marker only once per burst. */
  readonly #knownMarkers = new Set<string>();

  readonly #store: LocalStore;

  constructor(store: LocalStore) {
    this.#store = store;
  }

  #markerKey(kind: ChangeKind, key: string): string {
    return `${this.#store.prefix}p:${kind}:${key}`;
  }

  markPending(kind: ChangeKind, key: string, now: number): void {
    const markerKey = this.#markerKey(kind, key);
    if (this.#knownMarkers.has(markerKey)) return;
    this.#knownMarkers.add(markerKey);
    this.#store.write(markerKey, String(now), kind === 'form' ? key : undefined);
  }

  /** Another tab removed a marker (it queued the change): the next keystroke must write it again. */
  forgetMarker(storageKey: string): void {
    this.#knownMarkers.delete(storageKey);
  }

  /** Markers of every tab, oldest first (key order breaks ties so all tabs agree). */
  #markers(): PendingMarker[] {
    const start = `${this.#store.prefix}p:`;
    const found: PendingMarker[] = [];
    for (const storageKey of this.#store.ownKeys('p:')) {
      const rest = storageKey.slice(start.length);
      const kind = rest.slice(0, rest.indexOf(':'));
      if (kind !== 'form' && kind !== 'state') continue;
      found.push({
        storageKey,
        kind,
        key: rest.slice(kind.length + 1),
        since: Number(this.#store.read(storageKey)) || 0,
      });
    }
    return found.sort(
      (left, right) => left.since - right.since || (left.storageKey < right.storageKey ? -1 : 1),
    );
  }

  hasWork(): boolean {
    return this.outbox().length > 0 || this.#store.ownKeys('p:').length > 0;
  }

  outbox(): SyncChange[] {
    return parseList(this.#store.read(`${this.#store.prefix}outbox`), isSyncChange);
  }

  #saveOutbox(changes: readonly SyncChange[]): void {
    if (changes.length === 0) this.#store.remove(`${this.#store.prefix}outbox`);
    else this.#store.write(`${this.#store.prefix}outbox`, JSON.stringify(changes));
  }

  /** The last mutation id handed out for this client (0 before the first, or when damaged). */
  lastAssignedId(): number {
    const stored = Number(this.#store.read(`${this.#store.prefix}mid`));
    return Number.isSafeInteger(stored) && stored > 0 ? stored : 0;
  }

  /**
   * True when the stored last mutation id is there but unreadable ("1e309" reads as Infinity, and
   * would give every change an id the server refuses). Numbering again from 1 under the same
   * clientId would not do either: the server would take the new changes for ones it already
   * applied and answer `duplicate`. The service then starts a new client (see start()).
   */
  hasDamagedNumbering(): boolean {
    const raw = this.#store.read(`${this.#store.prefix}mid`);
    // Readable ("0" too) exactly when lastAssignedId gives back the number stored.
    return raw !== null && (raw.trim() === '' || Number(raw) !== this.lastAssignedId());
  }

  /** Starts the numbering over at 0, for a new clientId. */
  resetNumbering(): void {
    this.#saveLastAssignedId(0);
  }

  #saveLastAssignedId(id: number): void {
    this.#store.write(`${this.#store.prefix}mid`, String(id));
  }

  /**
   * Turns every marker into a change at the end of the outbox, with the next ids. The outbox and
   * the id counter are written before the markers are removed: a crash in between re-queues the
   * same data once more (harmless), never loses it. Keys the server would refuse are parked here.
   */
  assignPending(read: ChangeDataReader): SyncChange[] {
    const outbox = this.outbox();
    let nextId = Math.max(this.lastAssignedId(), outbox.at(-1)?.mutationId ?? 0) + 1;
    const taken = this.#markers();
    if (taken.length === 0) return outbox;
    const parked: ParkedChange[] = [];
    for (const marker of taken) {
      const { data, baseVersion, savedAt } = read(marker.kind, marker.key);
      const change: SyncChange = {
        mutationId: nextId,
        kind: marker.kind,
        key: marker.key,
        data,
        savedAt: new Date(savedAt).toISOString(),
        ...(baseVersion === null ? {} : { baseVersion }),
      };
      if (isSyncableKey(marker.key)) {
        outbox.push(change);
        nextId += 1;
      } else {
        parked.push({
          change,
          reason: `key "${marker.key}" cannot be sent (letters, digits and _ . : / - only)`,
        });
      }
    }
    this.#saveOutbox(outbox);
    this.#saveLastAssignedId(nextId - 1);
    if (parked.length > 0) this.#addParked(parked);
    for (const marker of taken) {
      this.#store.remove(marker.storageKey);
      this.#knownMarkers.delete(marker.storageKey);
    }
    return outbox;
  }

  /** The server has every change up to `lastMutationId`. */
  acknowledge(lastMutationId: number): void {
    const outbox = this.outbox();
    const remaining = outbox.filter((change) => change.mutationId > lastMutationId);
    if (remaining.length !== outbox.length) this.#saveOutbox(remaining);
  }

  reconcile(expectedMutationId: number): void {
    const outbox = reconcileWithExpected(this.outbox(), expectedMutationId);
    this.#saveOutbox(outbox);
    this.#saveLastAssignedId(outbox.at(-1)?.mutationId ?? expectedMutationId - 1);
  }

  /** Takes an invalid change out of the queue so the rest can go on; the ids after it move down. */
  park(mutationId: number, reason: string): ParkedChange | null {
    const outbox = this.outbox();
    const index = outbox.findIndex((change) => change.mutationId === mutationId);
    const change = outbox[index];
    if (change === undefined) return null;
    const rest = renumber(outbox.slice(index + 1), mutationId);
    this.#saveOutbox([...outbox.slice(0, index), ...rest]);
    this.#saveLastAssignedId(this.lastAssignedId() - 1);
    const entry = { change, reason };
    this.#addParked([entry]);
    return entry;
  }

  parked(): ParkedChange[] {
    return parseList(this.#store.read(`${this.#store.prefix}parked`), isParkedChange);
  }

  #addParked(entries: readonly ParkedChange[]): void {
    // Only the latest few are kept: they are for reporting, and must not fill the storage.
    const kept = [...this.parked(), ...entries].slice(-20);
    this.#store.write(`${this.#store.prefix}parked`, JSON.stringify(kept));
  }
}
