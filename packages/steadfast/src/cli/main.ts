#!/usr/bin/env node
/**
 * The `steadfast` command: `migrate`, `migrate --status`, `activity verify`, `activity prune
 * --before <date>`. An entry point, so it (and only it, in the library) reads process.env.
 * Exit codes: 0 done, 1 a check failed or the database refused, 2 a usage error.
 */
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { DatabaseUrlError } from '../db/errors.js';
import { migrateSteadfast, migrationStatus, type OpenedDatabase, openDatabase } from '../db/open-database.js';
import { pruneActivityLog, verifyActivityLog } from '../persistence/activity-integrity.js';
import { type ModelDefinition, ModelRegistry } from '../persistence/model-registry.js';
import { type OptionSpec, type ParsedOptions, parseOptions } from './arguments.js';
import { UsageError } from './usage-error.js';

const DEFAULT_DATABASE_URL = 'sqlite:./data/app.db';

const USAGE = `usage: steadfast <command> [options]

commands:
  migrate                          create or update Steadfast's own tables (never the app's)
  migrate --status                 list Steadfast's migrations, applied and pending (exit 1 if any is pending)
  migrate --sessions               also the tables of Steadfast's own sign-in (steadfast_users, steadfast_sessions)
  activity verify                  walk the ActivityLog's hash chains; names the first altered or removed entry (exit 1)
  activity prune --before <date>   remove entries older than the date (YYYY-MM-DD or ISO date-time),
                                   keeping a checkpoint per record so the rest still verifies

options:
  --database-url <url>   sqlite:<file> or postgres://…; default $DATABASE_URL, else ${DEFAULT_DATABASE_URL}
  --config <file>        a module whose default export (or named export) is { models: [...] }: your
                         models, so that 'activity verify' also checks each record's version against its log
  -h, --help             this help`;

const COMMON: OptionSpec = {
  'database-url': { type: 'string' },
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const dateArgument = z.union([z.iso.date(), z.iso.datetime({ offset: true })]);

interface Command {
  readonly options: OptionSpec;
  run(options: ParsedOptions, database: OpenedDatabase): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  migrate: {
    options: { status: { type: 'boolean' }, sessions: { type: 'boolean' } },
    async run(options, database) {
      if (options.status) {
        const status = await migrationStatus(database.db, { sessions: options.sessions === true });
        for (const name of status.applied) console.log(`applied  ${name}`);
        for (const name of status.pending) console.log(`pending  ${name}`);
        return status.pending.length === 0 ? 0 : 1;
      }
      const applied = await migrateSteadfast(database.db, { sessions: options.sessions === true });
      console.log(
        applied.length === 0
          ? `Steadfast's tables are current on ${database.displayUrl}`
          : `applied ${applied.join(', ')} on ${database.displayUrl}`,
      );
      return 0;
    },
  },
  'activity verify': {
    options: {},
    async run(options, database) {
      const registry = new ModelRegistry(await loadModels(options.config));
      const report = await verifyActivityLog(database.db, registry);
      if (report.ok) {
        console.log(`ok: ${report.entriesChecked} entries in ${report.chainsChecked} chains verified`);
        return 0;
      }
      console.log(`FAILED: ${report.problems.length} problem(s) in ${report.entriesChecked} entries`);
      for (const problem of report.problems)
        console.log(`- ${problem.model} ${problem.objectId}: ${problem.reason}`);
      return 1;
    },
  },
  'activity prune': {
    options: { before: { type: 'string' } },
    async run(options, database) {
      const before = dateArgument.safeParse(options.before);
      if (!before.success)
        throw new UsageError('--before is missing or not a date (YYYY-MM-DD or ISO date-time)');
      const cutoff = new Date(before.data);
      const result = await pruneActivityLog(database.db, cutoff);
      console.log(
        `pruned ${result.removed} entries before ${cutoff.toISOString()}; ${result.checkpoints} checkpoint(s) kept`,
      );
      return 0;
    },
  },
};

/** Loads the app's models from `--config`, so verification can compare records with their logs. */
async function loadModels(config: string | boolean | undefined): Promise<ModelDefinition[]> {
  if (typeof config !== 'string') return [];
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(config).href)) as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(
      `--config ${config} could not be loaded: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const exported = (module.default ?? module) as { models?: unknown };
  if (!Array.isArray(exported.models)) throw new UsageError(`--config ${config} exports no models array`);
  return exported.models as ModelDefinition[];
}

function commandOf(args: readonly string[]): { name: string; rest: readonly string[] } | undefined {
  const [first, second] = args;
  if (first === 'activity' && second && !second.startsWith('-'))
    return { name: `${first} ${second}`, rest: args.slice(2) };
  if (first && !first.startsWith('-')) return { name: first, rest: args.slice(1) };
  return undefined;
}

export async function runCli(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const found = commandOf(args);
  if (!found) {
    if (args.includes('--help') || args.includes('-h')) {
      console.log(USAGE);
      return 0;
    }
    throw new UsageError('no command given');
  }
  const command = COMMANDS[found.name];
  if (!command) throw new UsageError(`unknown command "${found.name}"`);
  const options = parseOptions(found.rest, { ...COMMON, ...command.options });
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  const url =
    typeof options['database-url'] === 'string'
      ? options['database-url']
      : (env.DATABASE_URL ?? DEFAULT_DATABASE_URL);
  // The command migrates only when asked to: verifying or pruning must never change the schema.
  const database = await openDatabase(url, { migrate: false });
  try {
    return await command.run(options, database);
  } finally {
    await database.close();
  }
}

runCli(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError || error instanceof DatabaseUrlError) {
      console.error(`steadfast: ${error.message}\n\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    console.error(`steadfast: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    process.exitCode = 1;
  },
);
