// From the ordered Entry list to a VassalConfig: last occurrence wins for scalar keys, env /
// set-ph accumulate, then types, ranges, socket addresses, `app` xor `exec`, strictness and
// the did-you-mean hint. Collects every error it finds.

import { isIPv6 } from 'node:net';
import { resolve } from 'node:path';
import type { ConfigError } from '../../shared/errors.js';
import type { KeySource, SocketAddress, VassalConfig } from '../../shared/types.js';
import { cfgError, type Entry } from './entry.js';
import { boolDefault, didYouMean, intDefault, isKnownKey, KEYS, splitSetPh } from './keys.js';
import { splitCommandLine } from './names.js';

export interface ValidateInfo {
  name: string;
  /** the vassal file as given (errors, sources) */
  file: string;
  /** absolute path of the vassal file (config.file) */
  absFile: string;
  /** absolute config dir, no trailing slash */
  dir: string;
  /** where to point "neither app nor exec" (the [vassal] header) */
  anchor: KeySource;
  /** earlier errors exist: skip the "neither app nor exec" complaint, which would be noise */
  suppressMissing: boolean;
  /** tyrant mode: the file's owner is not trusted with what root runs before the privilege drop */
  tyrant?: boolean;
}

/** caps on repeatable keys whose every entry costs the emperor work (watches, processes) */
export const MAX_TOUCH_RELOAD = 16;
export const MAX_HOOKS = 16;

/**
 * Variables that act on the privileged start-up of a copy or hook: `setpriv` and the `sh`
 * wrapper run as root with the vassal's environment until the switch, and the dynamic loader,
 * libc and the shell obey these (code loading: LD_PRELOAD, GCONV_PATH; start-up files: BASH_ENV).
 * glibc ignores them only for setuid programs, which these are not. In tyrant mode a config may
 * not set them (the operator's --tyrant-env may).
 */
const PRIVILEGED_START_ENV = /^(LD_.*|GCONV_PATH|GETCONF_DIR|GLIBC_TUNABLES|MALLOC_.*|NLSPATH|LOCPATH|HOSTALIASES|RES_OPTIONS|LOCALDOMAIN|RESOLV_HOST_CONF|NIS_PATH|BASH_ENV|ENV|SHELLOPTS|BASHOPTS|PS4|BASH_FUNC_.*)$/;

/** the largest valid uid/gid: 2^32-1 means "unchanged" to the kernel (SPEC §2) */
export const MAX_ID = 4_294_967_294;

/** Unix sun_path holds 108 bytes including the terminating NUL */
const MAX_UNIX_PATH = 107;

export function parseBool(v: string): boolean | null {
  const s = v.trim().toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(s)) return true;
  if (['false', 'no', 'off', '0'].includes(s)) return false;
  return null;
}

export type SocketParse = { ok: true; addr: SocketAddress } | { ok: false; reason: string };

/**
 * `/path.sock`, `unix:/path.sock`, relative `./x.sock` / `x.sock` / `unix:x.sock` (resolved
 * against the config dir), `host:port`, `[v6]:port`, `:port` (all interfaces, 0.0.0.0).
 */
export function parseSocketAddress(value: string, dir: string): SocketParse {
  let v = value.trim();
  const unixPrefixed = v.startsWith('unix:');
  if (unixPrefixed) v = v.slice(5);
  if (v === '') return { ok: false, reason: 'empty address' };
  if (unixPrefixed || v.startsWith('/') || v.startsWith('./') || v.startsWith('../') || (!v.includes(':') && v.endsWith('.sock'))) {
    const path = resolve(dir, v);
    if (Buffer.byteLength(path) > MAX_UNIX_PATH) return { ok: false, reason: `Unix socket path longer than ${MAX_UNIX_PATH} bytes: ${path}` };
    return { ok: true, addr: { kind: 'unix', path } };
  }
  let host: string;
  let portText: string;
  const v6 = /^\[([^\]]*)\]:(.*)$/.exec(v);
  if (v6) {
    host = v6[1]!;
    portText = v6[2]!;
    if (!isIPv6(host)) return { ok: false, reason: `\`${host}\` is not an IPv6 address` };
  } else {
    const colon = v.lastIndexOf(':');
    if (colon < 0) {
      return { ok: false, reason: /^\d+$/.test(v) ? `no host: write \`:${v}\` (all interfaces) or \`127.0.0.1:${v}\`` : 'expected /path.sock, host:port, [v6]:port or :port' };
    }
    host = v.slice(0, colon);
    portText = v.slice(colon + 1);
    if (host.includes(':')) return { ok: false, reason: 'an IPv6 address needs brackets: [addr]:port' };
    if (host !== '' && !/^[A-Za-z0-9.-]+$/.test(host)) return { ok: false, reason: `\`${host}\` is not a host name or address` };
  }
  if (!/^\d{1,5}$/.test(portText)) return { ok: false, reason: `port \`${portText}\` is not a number` };
  const port = Number(portText);
  if (port < 1 || port > 65535) return { ok: false, reason: `port ${port} is out of range 1-65535` };
  if (host === '') return { ok: true, addr: { kind: 'tcp', host: '0.0.0.0', port, allInterfaces: true } };
  return { ok: true, addr: { kind: 'tcp', host, port, allInterfaces: false } };
}

function addressText(a: SocketAddress): string {
  if (a.kind === 'unix') return a.path;
  if (a.allInterfaces) return `:${a.port}`;
  return isIPv6(a.host) ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export function validate(entries: Entry[], info: ValidateInfo, errors: ConfigError[], warnings: string[]): VassalConfig | null {
  const before = errors.length;
  const err = (e: Entry, message: string) => errors.push(cfgError('E_VALUE', e.file, e.line, e.key, message));
  const last = new Map<string, Entry>();
  const sources: Record<string, KeySource> = {};
  const env: Record<string, string> = {};
  // repeatable keys kept in file order: hooks (each a command line) and touch-reload paths
  const execPreStart: string[][] = [];
  const execPostStop: string[][] = [];
  const touchReload: string[] = [];
  for (const e of entries) {
    sources[e.key] = { file: e.file, line: e.line };
    if (e.key === 'exec-pre-start' || e.key === 'exec-post-stop') {
      if ((e.key === 'exec-pre-start' ? execPreStart : execPostStop).length >= MAX_HOOKS) {
        err(e, `at most ${MAX_HOOKS} \`${e.key}\` commands per vassal (call a script)`);
        continue;
      }
      try {
        const argv = splitCommandLine(e.value);
        if (argv.length === 0) err(e, `\`${e.key}\` is empty`);
        else (e.key === 'exec-pre-start' ? execPreStart : execPostStop).push(argv);
      } catch (x) {
        err(e, `\`${e.key}\` cannot be split: ${(x as Error).message}`);
      }
      continue;
    }
    if (e.key === 'touch-reload') {
      // each path costs the emperor a watch and a stat on every event (a `for` loop could ask for thousands)
      if (e.value.trim() === '') err(e, '`touch-reload` is empty');
      else if (touchReload.length >= MAX_TOUCH_RELOAD) err(e, `at most ${MAX_TOUCH_RELOAD} \`touch-reload\` paths per vassal (watch a directory instead)`);
      else touchReload.push(resolve(info.dir, e.value.trim()));
      continue;
    }
    if (e.key === 'env' || e.key === 'set-ph') {
      const eq = e.value.indexOf('=');
      if (eq <= 0 || e.value.slice(0, eq).trim() === '') {
        err(e, `\`${e.key}\` must be ${e.key === 'env' ? 'KEY=VALUE' : 'name=value'}, got \`${e.value}\``);
      } else if (e.key === 'env') {
        const name = e.value.slice(0, eq);
        if (info.tyrant && PRIVILEGED_START_ENV.test(name.trim()))
          err(e, `\`env\` may not set ${name.trim()} in tyrant mode: the loader or shell would act on it while the vassal starts as root`);
        else env[name] = e.value.slice(eq + 1);
      }
      continue;
    }
    last.set(e.key, e);
  }

  let strict = boolDefault('strict');
  const strictE = last.get('strict');
  if (strictE) {
    const b = parseBool(strictE.value);
    if (b === null) err(strictE, `\`strict\` must be a boolean (true/false/yes/no/on/off/1/0), got \`${strictE.value}\``);
    else strict = b;
  }

  // placeholders: set-ph and (strict = false) unknown keys, in file order
  const placeholders: Record<string, string> = {};
  const reported = new Set<string>();
  for (const e of entries) {
    const ph = e.key === 'set-ph' ? splitSetPh(e.value) : null;
    if (e.key === 'set-ph') {
      if (ph) placeholders[ph.name] = ph.value;
    } else if (!isKnownKey(e.key)) {
      if (!strict) placeholders[e.key] = e.value;
      else if (!reported.has(e.key)) {
        reported.add(e.key);
        const hint = didYouMean(e.key);
        errors.push(cfgError('E_UNKNOWN_KEY', e.file, e.line, e.key,
          `unknown key \`${e.key}\`${hint ? `: did you mean \`${hint}\`?` : ''} (set strict = false to keep unknown keys as placeholders)`));
      }
    }
  }

  const int = (key: string, dflt = intDefault(key)): number => {
    const e = last.get(key);
    if (!e) return dflt;
    const spec = KEYS[key]!;
    const s = e.value.trim();
    const n = /^\d+$/.test(s) ? Number(s) : NaN;
    const min = spec.min ?? 0;
    const max = spec.max ?? Number.MAX_SAFE_INTEGER;
    if (!Number.isSafeInteger(n)) { err(e, `\`${key}\` must be a whole number ≥ ${min}, got \`${e.value}\``); return dflt; }
    if (n < min || n > max) { err(e, `\`${key}\` must be between ${min} and ${max}, got ${n}`); return dflt; }
    return n;
  };
  /**
   * `processes = N` or `MIN-MAX` (1 <= MIN <= MAX <= the cap). A range needs an `app` vassal: an
   * `exec` copy reports no load, so there is nothing to scale on (an error, not a silent fixed count).
   */
  const processes = (): { min: number; max: number } => {
    const e = last.get('processes');
    if (!e) return { min: intDefault('processes'), max: intDefault('processes') };
    const spec = KEYS.processes!;
    const lo = spec.min ?? 1;
    const hi = spec.max ?? Number.MAX_SAFE_INTEGER;
    const s = e.value.trim();
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(s);
    if (!m) { err(e, `\`processes\` must be a whole number N or a range MIN-MAX (e.g. \`1-4\`), got \`${e.value}\``); return { min: 1, max: 1 }; }
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : Number(m[2]);
    if (min < lo || max > hi) { err(e, `\`processes\` must be between ${lo} and ${hi}, got ${s}`); return { min: 1, max: 1 }; }
    if (min > max) { err(e, `\`processes\` range ${s} has MIN above MAX: write \`${max}-${min}\``); return { min: 1, max: 1 }; }
    if (max > min && last.has('exec') && !last.has('app')) {
      err(e, `\`processes\` range ${s} needs an \`app\` vassal: \`exec\` copies report no load to scale on (use a fixed count)`);
      return { min: 1, max: 1 };
    }
    return { min, max };
  };
  const bool = (key: string, dflt = boolDefault(key)): boolean => {
    const e = last.get(key);
    if (!e) return dflt;
    const b = parseBool(e.value);
    if (b === null) { err(e, `\`${key}\` must be a boolean (true/false/yes/no/on/off/1/0), got \`${e.value}\``); return dflt; }
    return b;
  };
  const ident = (key: string): string | null => {
    const e = last.get(key);
    if (!e) return null;
    const s = e.value.trim();
    if (!/^[^\s:]+$/.test(s)) { err(e, `\`${key}\` must be a user/group name or number, got \`${e.value}\``); return null; }
    // 4294967295 is (uid_t)-1, which setresuid/setpriv read as "leave unchanged": as root, that is root
    if (/^\d+$/.test(s) && !(Number(s) <= MAX_ID)) { err(e, `\`${key}\` must be a name or a number in 0..${MAX_ID}, got ${s}`); return null; }
    return s;
  };
  const socket = (key: string): SocketAddress | null => {
    const e = last.get(key);
    if (!e) return null;
    const r = parseSocketAddress(e.value, info.dir);
    if (!r.ok) { err(e, `\`${key}\` ${r.reason}`); return null; }
    if (r.addr.kind === 'tcp' && r.addr.allInterfaces) {
      warnings.push(`${e.file}:${e.line} [${key}]: \`${e.value.trim()}\` listens on all interfaces (0.0.0.0)`);
    }
    return r.addr;
  };

  let app: string | null = null;
  const appE = last.get('app');
  if (appE) {
    if (appE.value.trim() === '') err(appE, '`app` is empty');
    else app = resolve(info.dir, appE.value.trim());
  }
  let exec: string[] | null = null;
  const execE = last.get('exec');
  if (execE) {
    try {
      const argv = splitCommandLine(execE.value);
      if (argv.length === 0) err(execE, '`exec` is empty');
      else exec = argv;
    } catch (x) {
      err(execE, `\`exec\` cannot be split: ${(x as Error).message}`);
    }
  }
  if (appE && execE) {
    const later = appE.line >= execE.line && appE.file === execE.file ? appE : execE;
    errors.push(cfgError('E_APP_EXEC', later.file, later.line, later.key, `both \`app\` (${appE.file}:${appE.line}) and \`exec\` (${execE.file}:${execE.line}) are set: keep one`));
  } else if (!appE && !execE && !info.suppressMissing) {
    errors.push(cfgError('E_APP_EXEC', info.anchor.file, info.anchor.line, 'app', 'neither `app` nor `exec` is set: a vassal needs exactly one'));
  }

  let chmodSocket = intDefault('chmod-socket');
  const modeE = last.get('chmod-socket');
  if (modeE) {
    const s = modeE.value.trim();
    if (/^0?[0-7]{3}$/.test(s)) chmodSocket = parseInt(s, 8);
    else err(modeE, `\`chmod-socket\` must be an octal mode like 660 or 0660, got \`${modeE.value}\``);
  }
  let chownSocket: VassalConfig['chownSocket'] = null;
  const ownE = last.get('chown-socket');
  if (ownE) {
    const m = /^([^\s:]+)(?::([^\s:]+))?$/.exec(ownE.value.trim());
    const tooBig = m && [m[1], m[2]].some((x) => x !== undefined && /^\d+$/.test(x) && !(Number(x) <= MAX_ID));
    if (m && tooBig) err(ownE, `\`chown-socket\` ids must be names or numbers in 0..${MAX_ID}, got \`${ownE.value.trim()}\``);
    else if (m) chownSocket = { user: m[1]!, group: m[2] ?? null };
    else err(ownE, `\`chown-socket\` must be user[:group], got \`${ownE.value}\``);
  }
  let chdir = info.dir;
  const chdirE = last.get('chdir');
  if (chdirE) {
    if (chdirE.value.trim() === '') err(chdirE, '`chdir` is empty');
    else chdir = resolve(info.dir, chdirE.value.trim());
  }
  const statsAddr = socket('stats');
  const count = processes();
  const spare = (): boolean => {
    const on = bool('spare');
    const e = last.get('spare');
    if (on && e && last.has('exec') && !last.has('app')) {
      err(e, '`spare` needs an `app` vassal: an `exec` program cannot be started ahead and told to go on');
      return false;
    }
    return on;
  };

  const config: VassalConfig = {
    name: info.name,
    file: info.absFile,
    app,
    exec,
    httpSocket: socket('http-socket'),
    chmodSocket,
    chownSocket,
    uid: ident('uid'),
    gid: ident('gid'),
    allowRoot: bool('allow-root'),
    processes: count.min,
    maxProcesses: count.max,
    scaleUpAfter: int('scale-up-after'),
    scaleDownAfter: int('scale-down-after'),
    harakiri: int('harakiri'),
    maxRequests: int('max-requests'),
    reloadOnRss: int('reload-on-rss'),
    bufferSize: int('buffer-size'),
    mercy: int('mercy'),
    env,
    chdir,
    onDemand: bool('on-demand'),
    idle: int('idle'),
    stats: statsAddr ? addressText(statsAddr) : null,
    memoryReport: bool('memory-report'),
    spare: spare(),
    honourStdin: bool('honour-stdin'),
    readyAfter: int('ready-after'),
    heartbeat: int('heartbeat'),
    startTimeout: int('start-timeout'),
    execPreStart,
    execPostStop,
    touchReload,
    essential: bool('essential'),
    strict,
    placeholders,
    sources,
  };
  return errors.length > before ? null : config;
}
