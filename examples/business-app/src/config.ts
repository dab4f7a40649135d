/**
 * The app's configuration, parsed from an environment object once at start. `main.ts` is the
 * only module that reads `process.env`; everything else receives an `AppConfig`.
 */
import { z } from 'zod';

export const DEFAULT_DATABASE_URL = 'sqlite:./data/app.db';

const environmentSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z.string().min(1).default(DEFAULT_DATABASE_URL),
  // The session cookie's HMAC wants a long secret; failing here names the variable.
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  // Requests a minute per user (sync) and per address (sign-in) before a 429 with Retry-After.
  SYNC_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().max(1_000_000).default(300),
  LOGIN_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().max(1_000_000).default(10),
  // Changes and sync body bytes a minute per user before a 429 (the library's
  // limits.changesPerMinute and limits.syncBytesPerMinute).
  SYNC_CHANGES_PER_MINUTE: z.coerce.number().int().positive().max(1_000_000_000).default(1200),
  SYNC_BYTES_PER_MINUTE: z.coerce
    .number()
    .int()
    .positive()
    .max(1_000_000_000_000)
    .default(8 * 1024 * 1024),
  // The proxies in front whose X-Forwarded-For is believed: a hop count or addresses. Unset: none.
  TRUST_PROXY: z.string().optional(),
  // /metrics for Prometheus, with this bearer token. Unset: /metrics is off.
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
});

/**
 * Which proxies to believe about the client's address (Fastify's `trustProxy`): none (`false`),
 * the nearest `n` hops, or the listed addresses and CIDR ranges (`loopback`, `10.0.0.0/8`, …).
 * Never `true`: believing every X-Forwarded-For lets any client write the address the log records
 * and the sign-in limit counts.
 */
export type TrustProxy = false | number | readonly string[];

const ADDRESS_PATTERN = /^(loopback|linklocal|uniquelocal|[0-9a-fA-F.:]+(\/\d{1,3})?)$/;

/** `TRUST_PROXY`: empty or `false` → none; `1` → one hop; `127.0.0.1,10.0.0.0/8` → those addresses. */
export function parseTrustProxy(text: string | undefined): TrustProxy {
  const value = (text ?? '').trim();
  if (value === '' || value === 'false' || value === '0') return false;
  if (/^\d{1,2}$/.test(value)) return Number(value);
  const addresses = value.split(',').map((part) => part.trim());
  const wrong = addresses.find((address) => !ADDRESS_PATTERN.test(address));
  if (wrong !== undefined) {
    throw new ConfigError(
      `TRUST_PROXY: "${wrong}" is not a hop count, an address, a CIDR range or loopback/linklocal/uniquelocal`,
    );
  }
  return addresses;
}

export type NodeEnvironment = z.infer<typeof environmentSchema>['NODE_ENV'];

export interface AppConfig {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string;
  /** Undefined outside production when the variable is unset: `main.ts` then uses a persisted one. */
  readonly sessionSecret: string | undefined;
  readonly environment: NodeEnvironment;
  readonly production: boolean;
  readonly rateLimits: {
    readonly syncPerMinute: number;
    readonly loginPerMinute: number;
    readonly changesPerMinute: number;
    readonly syncBytesPerMinute: number;
  };
  readonly trustProxy: TrustProxy;
  /** Undefined: no /metrics. */
  readonly metricsToken: string | undefined;
}

/** Thrown for an unusable environment, before anything is opened or listens. */
export class ConfigError extends Error {
  readonly code = 'invalid_config';
  override readonly name = 'ConfigError';
}

export function parseConfig(environment: Readonly<Record<string, string | undefined>>): AppConfig {
  // Empty variables (`PORT=`) mean "unset", as a shell user would expect.
  const present = Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== ''));
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid environment: ${problems.join('; ')}`);
  }
  const values = parsed.data;
  const production = values.NODE_ENV === 'production';
  if (production && values.SESSION_SECRET === undefined) {
    throw new ConfigError('SESSION_SECRET is required when NODE_ENV=production');
  }
  return {
    port: values.PORT,
    host: values.HOST,
    databaseUrl: values.DATABASE_URL,
    sessionSecret: values.SESSION_SECRET,
    environment: values.NODE_ENV,
    production,
    rateLimits: {
      syncPerMinute: values.SYNC_RATE_LIMIT_PER_MINUTE,
      loginPerMinute: values.LOGIN_RATE_LIMIT_PER_MINUTE,
      changesPerMinute: values.SYNC_CHANGES_PER_MINUTE,
      syncBytesPerMinute: values.SYNC_BYTES_PER_MINUTE,
    },
    trustProxy: parseTrustProxy(values.TRUST_PROXY),
    metricsToken: values.METRICS_TOKEN,
  };
}
