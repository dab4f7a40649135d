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
  const enabled = (wanted: LogLevel): boolean => LOG_LEVELS.indexOf(wanted) >= threshold;
  // Detail is passed as a separate argument so the seed's exact lines stay exact.
  const withDetail = (detail: unknown): unknown[] => (detail === undefined ? [] : [detail]);
  return {
    debug: (message) => enabled('debug') && sink.debug(PREFIX + message),
    info: (message) => enabled('info') && sink.log(PREFIX + message),
    warn: (message, detail) => enabled('warn') && sink.warn(PREFIX + message, ...withDetail(detail)),
    error: (message, detail) => enabled('error') && sink.error(PREFIX + message, ...withDetail(detail)),
  };
}
