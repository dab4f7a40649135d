import { describe, expect, it, vi } from 'vitest';
import {
  LocalStore,
  type StorageProblem,
  scopePrefix,
} from '../../../packages/steadfast/src/client/local-store.js';
import { MemoryStorage } from './memory-storage.js';

const HOUR = 60 * 60 * 1000;

function open(
  storage: MemoryStorage | null,
  user = 'alice',
  now = () => 0,
  onProblem: (problem: StorageProblem) => void = vi.fn(),
) {
  return new LocalStore(storage, user, { ttlMs: HOUR, now, onProblem });
}

describe('LocalStore', () => {
  it('keeps each user’s drafts apart', () => {
    const storage = new MemoryStorage();
    const alice = open(storage, 'alice');
    alice.write(alice.fieldKey('profile', 'name'), JSON.stringify('Alice'));
    alice.writeMeta('profile', { v: null, t: 0 });
    const bob = open(storage, 'bob');
    expect(bob.readMeta('profile')).toBeNull();
    expect(bob.readFields('profile')).toEqual({});
    expect(alice.readFields('profile')).toEqual({ name: 'Alice' });
  });

  it('expires drafts and states after their time to live', () => {
    const storage = new MemoryStorage();
    let clock = 0;
    const store = open(storage, 'alice', () => clock);
    store.write(store.fieldKey('f', 'a'), '"x"');
    store.writeMeta('f', { v: 2, t: 0 });
    store.writeState('sidebar', { open: true });
    clock = HOUR - 1;
    expect(store.readMeta('f')?.v).toBe(2);
    expect(store.readState('sidebar')?.value).toEqual({ open: true });
    clock = HOUR + 1;
    expect(store.readState('sidebar')).toBeNull();
    store.purgeExpired();
    expect(storage.length).toBe(0);
  });

  it('purging expired drafts reads only the drafts’ metas and the states, not every field value', () => {
    const storage = new MemoryStorage();
    const store = open(storage, 'alice', () => 0);
    for (let i = 0; i < 200; i += 1)
      store.write(store.fieldKey('big', `f${i}`), JSON.stringify(`value ${i}`));
    store.writeMeta('big', { v: null, t: 0 });
    store.writeState('sidebar', { open: true });
    const read = vi.spyOn(storage, 'getItem');
    store.purgeExpired();
    expect(read.mock.calls.map(([key]) => key).sort()).toEqual(
      [`${store.prefix}m:big`, `${store.prefix}s:sidebar`].sort(),
    );
  });

  it('signing out removes every entry of that user and nothing of others', () => {
    const storage = new MemoryStorage();
    const alice = open(storage, 'alice');
    const bob = open(storage, 'bob');
    alice.writeState('a', 1);
    alice.write(`${alice.prefix}outbox`, '[]');
    bob.writeState('b', 2);
    storage.setItem('unrelated', 'kept');
    alice.clearScope();
    expect([...Array(storage.length).keys()].map((index) => storage.key(index))).toEqual([
      `${scopePrefix('bob')}s:b`,
      'unrelated',
    ]);
  });

  it('when storage is full, drops the oldest other drafts first and reports it', () => {
    const storage = new MemoryStorage(2_000);
    let clock = 0;
    const problems: StorageProblem[] = [];
    const store = open(
      storage,
      'alice',
      () => clock,
      (problem: StorageProblem) => problems.push(problem),
    );
    for (const form of ['old', 'newer']) {
      clock += 10;
      store.writeMeta(form, { v: null, t: clock });
      store.write(store.fieldKey(form, 'text'), JSON.stringify('x'.repeat(600)));
    }
    clock += 10;
    store.writeMeta('current', { v: null, t: clock });
    expect(store.write(store.fieldKey('current', 'text'), JSON.stringify('y'.repeat(600)), 'current')).toBe(
      true,
    );
    expect(store.readMeta('old')).toBeNull();
    expect(store.readFields('newer')).toEqual({ text: 'x'.repeat(600) });
    expect(problems).toEqual([{ kind: 'quota', evictedDrafts: 1, keptInMemoryOnly: false }]);
  });

  it('never evicts a draft of this user that still waits for the server', () => {
    const storage = new MemoryStorage(1_500);
    const store = open(storage, 'alice');
    store.writeMeta('typing', { v: null, t: 1 });
    store.write(store.fieldKey('typing', 'title'), JSON.stringify('x'.repeat(500)), 'typing');
    store.write(`${store.prefix}p:form:typing`, '1', 'typing');
    store.write(`${store.prefix}outbox`, JSON.stringify('y'.repeat(900)));
    expect(store.readFields('typing')).toEqual({ title: 'x'.repeat(500) });
  });

  it('keeps working in memory when nothing can be evicted, and says so', () => {
    const storage = new MemoryStorage(100);
    const onProblem = vi.fn();
    const store = open(storage, 'alice', () => 0, onProblem);
    const key = store.fieldKey('f', 'long');
    expect(store.write(key, JSON.stringify('z'.repeat(500)), 'f')).toBe(false);
    expect(store.readFields('f')).toEqual({ long: 'z'.repeat(500) });
    expect(onProblem).toHaveBeenCalledWith({ kind: 'quota', evictedDrafts: 0, keptInMemoryOnly: true });
  });

  it('works without any storage (blocked), in memory', () => {
    const store = open(null);
    store.writeState('k', 'v');
    expect(store.readState('k')?.value).toBe('v');
    expect(store.write(store.fieldKey('f', 'x'), '"y"')).toBe(false);
  });
});
