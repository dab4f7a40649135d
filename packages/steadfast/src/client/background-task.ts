/**
 * Work that must not hold up the page: run at the browser's background priority
 * (`scheduler.postTask`), after rendering and after the page's own scripts and input, where the
 * browser has a scheduler (Safari has none yet); else as a timer, the next task.
 */

/** Runs `task` at background priority; returns what cancels it (nothing once it ran). */
export function runInBackground(view: Window, task: () => void): () => void {
  let cancelled = false;
  const run = () => {
    if (!cancelled) task();
  };
  if (view.scheduler) void view.scheduler.postTask(run, { priority: 'background' });
  else setTimeout(run);
  return () => {
    cancelled = true;
  };
}
