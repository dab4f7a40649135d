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
});

export type NodeEnvironment = z.infer<typeof environmentSchema>['NODE_ENV'];

export interface AppConfig {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string;
  /** Undefined outside production when the variable is unset: `main.ts` then uses a persisted one. */
  readonly sessionSecret: string | undefined;
  readonly environment: NodeEnvironment;
  readonly production: boolean;
  readonly rateLimits: { readonly syncPerMinute: number; readonly loginPerMinute: number };
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
    },
  };
}
