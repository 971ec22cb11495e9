// `emperor run`'s options read without commander: the keeper (the long-lived process `emperor
// run` is) and its brain take this path, so neither loads commander (0.6 MB private per process,
// measured). It answers only argv that commander reads the same way; anything else (help, an
// unknown option, a bad level, a missing value) gets null and goes through commands.ts as before.

/** `run`'s options as commander hands them to the action (undefined: not given) */
export interface RunOptions {
  vassals: string;
  state: string;
  vassalDefaults?: string;
  dashboard: string;
  dashboardToken?: string;
  tyrant?: boolean;
  tyrantEnv?: string;
  logLevel: string;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** the defaults commands.ts gives commander (one place for both parsers) */
export const runDefaults = (env: NodeJS.ProcessEnv): RunOptions => ({
  vassals: './vassals.d',
  state: env.EMPEROR_STATE || './emperor.db',
  dashboard: '127.0.0.1:9191',
  logLevel: 'info',
});

/** options taking a value, by flag, and the key commander stores it under */
const VALUED: Record<string, Exclude<keyof RunOptions, 'tyrant'>> = {
  '--vassals': 'vassals',
  '--state': 'state',
  '--vassal-defaults': 'vassalDefaults',
  '--dashboard': 'dashboard',
  '--dashboard-token': 'dashboardToken',
  '--tyrant-env': 'tyrantEnv',
  '--log-level': 'logLevel',
};

/**
 * argv after the script (`run --vassals d ...`) as `run`'s options, or null when this is not
 * `run` or not argv this reader is sure commander reads identically: flags as `--flag value` or
 * `--flag=value`, the last of a repeated flag winning (commander's rule), values that are
 * non-empty and do not start with `-`, no positional argument, no `--`.
 */
export function runArgs(argv: readonly string[], env: NodeJS.ProcessEnv): RunOptions | null {
  if (argv[0] !== 'run' || argv.length > 64) return null;
  const o = runDefaults(env);
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (flag === '--tyrant' && eq < 0) {
      o.tyrant = true;
      continue;
    }
    const key = VALUED[flag];
    if (key === undefined) return null;
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '' || value.startsWith('-')) return null;
    if (key === 'logLevel' && !LOG_LEVELS.includes(value)) return null;
    o[key] = value;
  }
  return o;
}
