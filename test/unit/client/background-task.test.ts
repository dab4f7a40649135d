import { afterEach, describe, expect, it, vi } from 'vitest';
import { runInBackground } from '../../../packages/steadfast/src/client/background-task.js';

/** A window with only what runInBackground reads: a scheduler that keeps what it is given. */
function viewWithScheduler() {
  const posted: Array<{ task: () => void; priority: unknown }> = [];
  const scheduler = {
    postTask: (task: () => void, options: { priority?: unknown } = {}) => {
      posted.push({ task, priority: options.priority });
      return Promise.resolve();
    },
  };
  return { view: { scheduler } as unknown as Window, posted };
}

describe('runInBackground', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('posts the task at background priority where the browser has a scheduler', () => {
    const { view, posted } = viewWithScheduler();
    const task = vi.fn();
    runInBackground(view, task);
    expect(posted.map((entry) => entry.priority)).toEqual(['background']);
    expect(task).not.toHaveBeenCalled();
    posted[0]?.task();
    expect(task).toHaveBeenCalledTimes(1);
  });

  it('runs nothing once cancelled, with a scheduler or without one', () => {
    const { view, posted } = viewWithScheduler();
    const task = vi.fn();
    runInBackground(view, task)();
    posted[0]?.task();
    vi.useFakeTimers();
    runInBackground({} as Window, task)();
    vi.runAllTimers();
    expect(task).not.toHaveBeenCalled();
  });

  it('falls back to the next task without a scheduler (Safari)', () => {
    vi.useFakeTimers();
    const task = vi.fn();
    runInBackground({} as Window, task);
    expect(task).not.toHaveBeenCalled();
    vi.runAllTimers();
    expect(task).toHaveBeenCalledTimes(1);
  });
});
