import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Debouncer } from '../../../packages/steadfast/src/client/debouncer.js';

describe('Debouncer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs once, after the delay of quiet that follows the last poke', () => {
    const action = vi.fn();
    const debouncer = new Debouncer(2000, action);
    debouncer.poke();
    vi.advanceTimersByTime(1500);
    debouncer.poke();
    vi.advanceTimersByTime(1999);
    expect(action).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(action).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10_000);
    expect(action).toHaveBeenCalledTimes(1);
  });

  it('keeps a single timer however many keystrokes arrive', () => {
    const debouncer = new Debouncer(2000, vi.fn());
    for (let index = 0; index < 1000; index += 1) debouncer.poke();
    expect(vi.getTimerCount()).toBe(1);
  });

  it('can be cancelled', () => {
    const action = vi.fn();
    const debouncer = new Debouncer(100, action);
    debouncer.poke();
    debouncer.cancel();
    vi.advanceTimersByTime(1000);
    expect(action).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });
});
