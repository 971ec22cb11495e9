// The environment vassals inherit (SPEC §2, §4): what `$(ENV)` / `if-env` may see and what a
// copy starts with. Never EMPEROR_* (the emperor's settings and its dashboard token); in tyrant
// mode only PATH and LANG plus the names given with --tyrant-env; a vassal running as another
// user gets that user's HOME, USER, LOGNAME and SHELL from passwd, as systemd does for User=.
// Set once at start by `run` / `serve` / `check` (setEnvPolicy); read by config loading and launch.ts.
import type { Identity } from '../os/index.js';

export interface EnvPolicy {
  /** --tyrant: a minimal environment plus `allow` */
  tyrant: boolean;
  /** --tyrant-env NAME,...: names passed to tyrant vassals and visible to their $(ENV) */
  allow: readonly string[];
}

type Env = Record<string, string>;

/** always passed to tyrant vassals (with a default when the emperor has none) */
const TYRANT_BASE: Readonly<Record<string, string | null>> = { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: null };

/** never inherited: the emperor's own settings and secrets, and Node's IPC plumbing */
export function isPrivateName(name: string): boolean {
  return name.startsWith('EMPEROR_') || name.startsWith('NODE_CHANNEL') || name === 'NODE_UNIQUE_ID';
}

let policy: EnvPolicy = { tyrant: false, allow: [] };
let base: Env | null = null;
let visible: Env | null = null;

/** Fix the policy and take the snapshot of the emperor's environment it applies to. */
export function setEnvPolicy(p: EnvPolicy, from: NodeJS.ProcessEnv = process.env): void {
  policy = { tyrant: p.tyrant, allow: p.allow.filter((n) => n !== '' && !isPrivateName(n)) };
  const all: Env = {};
  for (const [k, v] of Object.entries(from)) if (v !== undefined && !isPrivateName(k)) all[k] = v;
  if (!policy.tyrant) {
    base = all;
    visible = all;
    return;
  }
  const allowed: Env = {};
  for (const n of policy.allow) if (all[n] !== undefined) allowed[n] = all[n]!;
  base = {};
  for (const [n, dflt] of Object.entries(TYRANT_BASE)) {
    const v = all[n] ?? dflt;
    if (v !== null) base[n] = v;
  }
  Object.assign(base, allowed);
  visible = allowed;
}

function ensure(): void {
  if (base === null) setEnvPolicy(policy);
}

/** What `$(ENV)` and `if-env` see: tyrant mode, only the --tyrant-env names. */
export function configEnv(): Env {
  ensure();
  return { ...visible! };
}

/** The environment a copy of a vassal running as `id` starts with (before the config's `env`). */
export function vassalBaseEnv(id: Pick<Identity, 'switchTo' | 'user' | 'home' | 'shell'>): Env {
  ensure();
  const env: Env = { ...base! };
  if (id.switchTo || policy.tyrant) {
    // never root's HOME (and whatever it holds) for another user
    delete env.HOME;
    delete env.USER;
    delete env.LOGNAME;
    delete env.SHELL;
    if (id.user) {
      env.USER = id.user;
      env.LOGNAME = id.user;
    }
    env.HOME = id.home || '/';
    if (id.shell) env.SHELL = id.shell;
  }
  return env;
}

/** --tyrant-env NAME,NAME: valid environment names, EMPEROR_* refused. */
export function parseEnvNames(list: string): { ok: true; names: string[] } | { ok: false; reason: string } {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n)) return { ok: false, reason: `\`${n}\` is not an environment variable name` };
    if (isPrivateName(n)) return { ok: false, reason: `\`${n}\` is the emperor's own and is never passed to vassals` };
  }
  return { ok: true, names };
}
