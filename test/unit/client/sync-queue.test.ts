import { describe, expect, it } from 'vitest';
import { LocalStore } from '../../../packages/steadfast/src/client/local-store.js';
import {
  type ChangeDataReader,
  reconcileWithExpected,
  renumber,
  SyncQueue,
  takeWithinBytes,
} from '../../../packages/steadfast/src/client/sync-queue.js';
import type { SyncChange } from '../../../packages/steadfast/src/protocol/sync.js';
import { MemoryStorage } from './memory-storage.js';

const CLIENT = '5b0f4a4e-2d64-4b8a-9a52-8f7c1f1e2a10';

function openQueue(storage: MemoryStorage, now = () => 1_000) {
  const store = new LocalStore(storage, 'alice', { ttlMs: 60_000, now, onProblem: () => undefined });
  return { store, queue: new SyncQueue(store) };
}

/** Reads "data" as the key's current text from a map the test changes. */
function readerFrom(data: Map<string, string | null>): ChangeDataReader {
  return (_kind, key) => ({ data: data.get(key) ?? null, baseVersion: null, savedAt: 1_000 });
}

function change(mutationId: number, key = `k${mutationId}`): SyncChange {
  return { mutationId, kind: 'form', key, data: { a: 'x' }, savedAt: '2026-11-25T10:00:00.000Z' };
}

describe('SyncQueue', () => {
  it('turns markers into changes in the order they were first made, with consecutive ids from 1', () => {
    const storage = new MemoryStorage();
    let clock = 1_000;
    const { queue } = openQueue(storage, () => clock);
    queue.markPending('form', 'b-form', clock);
    clock += 1;
    queue.markPending('state', 'a-state', clock);
    const outbox = queue.assignPending(
      readerFrom(
        new Map([
          ['b-form', 'B'],
          ['a-state', 'A'],
        ]),
      ),
    );
    expect(outbox.map((entry) => [entry.mutationId, entry.kind, entry.key, entry.data])).toEqual([
      [1, 'form', 'b-form', 'B'],
      [2, 'state', 'a-state', 'A'],
    ]);
  });

  it('coalesces a burst on one key into one change carrying the latest data', () => {
    const { queue } = openQueue(new MemoryStorage());
    const data = new Map<string, string | null>();
    for (const text of ['D', 'De', 'Des', 'Desk']) {
      data.set('product-42', text);
      queue.markPending('form', 'product-42', 1_000);
    }
    expect(queue.assignPending(readerFrom(data)).map((entry) => entry.data)).toEqual(['Desk']);
  });

  it('never reuses or skips an id across a reload, and resends unacknowledged changes with their ids', () => {
    const storage = new MemoryStorage();
    const first = openQueue(storage).queue;
    first.markPending('form', 'a', 1);
    first.markPending('form', 'b', 2);
    first.assignPending(
      readerFrom(
        new Map([
          ['a', '1'],
          ['b', '2'],
        ]),
      ),
    );
    first.acknowledge(1);

    const reloaded = openQueue(storage).queue;
    expect(reloaded.outbox().map((entry) => entry.mutationId)).toEqual([2]);
    reloaded.markPending('form', 'c', 3);
    expect(
      reloaded.assignPending(readerFrom(new Map([['c', '3']]))).map((entry) => entry.mutationId),
    ).toEqual([2, 3]);
  });

  it('writes a marker again after the change was queued (a new keystroke must be sent too)', () => {
    const storage = new MemoryStorage();
    const { queue } = openQueue(storage);
    queue.markPending('form', 'a', 1);
    queue.assignPending(readerFrom(new Map([['a', 'v1']])));
    queue.markPending('form', 'a', 2);
    expect(queue.assignPending(readerFrom(new Map([['a', 'v2']]))).map((entry) => entry.data)).toEqual([
      'v1',
      'v2',
    ]);
  });

  it('parks a change the server refused and renumbers the rest so no gap is left', () => {
    const { queue } = openQueue(new MemoryStorage());
    for (const key of ['a', 'b', 'c']) queue.markPending('form', key, 1);
    queue.assignPending(
      readerFrom(
        new Map([
          ['a', 'A'],
          ['b', 'B'],
          ['c', 'C'],
        ]),
      ),
    );
    const parked = queue.park(2, 'changes.1.key: refused');
    expect(parked?.change.key).toBe('b');
    expect(queue.outbox().map((entry) => [entry.mutationId, entry.key])).toEqual([
      [1, 'a'],
      [2, 'c'],
    ]);
    expect(queue.lastAssignedId()).toBe(2);
    expect(queue.parked().map((entry) => entry.reason)).toEqual(['changes.1.key: refused']);
  });

  it('parks keys the server could never accept before giving them an id', () => {
    const { queue } = openQueue(new MemoryStorage());
    queue.markPending('form', 'has space', 1);
    queue.markPending('form', 'fine', 2);
    const outbox = queue.assignPending(readerFrom(new Map([['fine', 'F']])));
    expect(outbox.map((entry) => [entry.mutationId, entry.key])).toEqual([[1, 'fine']]);
    expect(queue.parked().map((entry) => entry.change.key)).toEqual(['has space']);
  });

  it('renumbers from what the server expects after a gap', () => {
    const { queue } = openQueue(new MemoryStorage());
    for (const key of ['a', 'b']) queue.markPending('form', key, 1);
    queue.assignPending(readerFrom(new Map()));
    queue.park(1, 'refused');
    // Server saw nothing yet and expects 1; the outbox already starts at 1 after parking.
    queue.reconcile(1);
    expect(queue.outbox().map((entry) => entry.mutationId)).toEqual([1]);
  });

  it('reports work while markers or unacknowledged changes exist', () => {
    const { queue } = openQueue(new MemoryStorage());
    expect(queue.hasWork()).toBe(false);
    queue.markPending('state', 's', 1);
    expect(queue.hasWork()).toBe(true);
    queue.assignPending(readerFrom(new Map()));
    expect(queue.hasWork()).toBe(true);
    queue.acknowledge(1);
    expect(queue.hasWork()).toBe(false);
  });
});

describe('queue helpers', () => {
  it('renumber keeps order and content', () => {
    expect(
      renumber([change(7, 'x'), change(9, 'y')], 3).map((entry) => [entry.mutationId, entry.key]),
    ).toEqual([
      [3, 'x'],
      [4, 'y'],
    ]);
  });

  it('reconcileWithExpected renumbers only when the server is missing ids before ours', () => {
    const outbox = [change(5), change(6)];
    expect(reconcileWithExpected(outbox, 3).map((entry) => entry.mutationId)).toEqual([3, 4]);
    expect(reconcileWithExpected(outbox, 6).map((entry) => entry.mutationId)).toEqual([5, 6]);
    expect(reconcileWithExpected([], 4)).toEqual([]);
  });

  it('takeWithinBytes takes the longest prefix whose body fits, never reordering', () => {
    const big = { ...change(1), data: { text: 'x'.repeat(40 * 1024) } };
    const small = change(2);
    const bigger = { ...change(3), data: { text: 'y'.repeat(30 * 1024) } };
    const taken = takeWithinBytes(CLIENT, [big, small, bigger], 64 * 1024);
    expect(taken.map((entry) => entry.mutationId)).toEqual([1, 2]);
    expect(
      new TextEncoder().encode(JSON.stringify({ clientId: CLIENT, changes: taken })).length,
    ).toBeLessThanOrEqual(64 * 1024);
    expect(
      takeWithinBytes(CLIENT, [{ ...change(1), data: { text: 'z'.repeat(70 * 1024) } }], 64 * 1024),
    ).toEqual([]);
  });
});

describe('SyncQueue numbering', () => {
  it('tells a damaged stored mutation id from a missing or readable one', () => {
    const storage = new MemoryStorage();
    const { store, queue } = openQueue(storage);
    const mid = `${store.prefix}mid`;
    expect(queue.hasDamagedNumbering()).toBe(false);
    for (const readable of ['0', '12']) {
      storage.setItem(mid, readable);
      expect(queue.hasDamagedNumbering(), readable).toBe(false);
    }
    for (const damaged of ['1e309', 'abc', '-1', '', '1.5', '9007199254740993']) {
      storage.setItem(mid, damaged);
      expect(queue.hasDamagedNumbering(), damaged).toBe(true);
      expect(queue.lastAssignedId()).toBe(0);
    }
    queue.resetNumbering();
    expect(queue.hasDamagedNumbering()).toBe(false);
  });
});
