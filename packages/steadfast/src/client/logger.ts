/** Leveled console output. Every line starts with `[AUTO-SAVE]` so app logs can be filtered. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string, detail?: unknown): void;
  error(message: string, detail?: unknown): void;
}

/** The part of `console` the logger writes to; tests pass their own. */
export interface LogSink {
  debug(...parts: unknown[]): void;
  log(...parts: unknown[]): void;
  warn(...parts: unknown[]): void;
  error(...parts: unknown[]): void;
}

const PREFIX = '[AUTO-SAVE] ';

export function createLogger(level: LogLevel, sink: LogSink = console): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  // One writer a level (in LOG_LEVELS order: a writer's index is its level's), writing to the console
  // method of its name, but info to console.log. Detail goes as a separate argument, and only when
  // given, so the seed's exact lines stay exact.
  const levels = ['debug', 'info', 'warn', 'error'] as const;
  const writers = levels.map(
    (wanted, rank) =>
      [
        wanted,
        (message: string, ...detail: unknown[]) => {
          if (rank >= threshold) sink[wanted === 'info' ? 'log' : wanted](PREFIX + message, ...detail);
        },
      ] as const,
  );
  return Object.fromEntries(writers) as Record<(typeof levels)[number], Logger['warn']>;
}
