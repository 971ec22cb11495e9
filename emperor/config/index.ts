// The config module's door (SPEC §2): load one vassal file (INI or JSON, with an optional
// --vassal-defaults file applied under it) into a validated VassalConfig or a list of
// ConfigErrors naming file, line and key. Synchronous, pure apart from reading files; never throws.
// In tyrant mode (`owner`) the file is opened without following a symlink and judged on that
// descriptor (owner, link count), and its includes are read as that owner could.

import fs from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { ConfigError } from '../../shared/errors.js';
import type { KeySource, VassalConfig } from '../../shared/types.js';
import { cfgError } from './entry.js';
import { readJsonText } from './json.js';
import { fileId, runIniText, type LogicState } from './logic.js';
import { isVassalName } from '../../shared/names.js';
import { splitSetPh } from './keys.js';
import { candidateName } from './names.js';
import { readConfigText, visibleTo, type ReadOutcome, type Who } from './read.js';
import { validate } from './validate.js';

export { isIgnoredFileName, splitCommandLine, vassalNameOf } from './names.js';
export { MAX_CONFIG_BYTES, type Who } from './read.js';
export { MAX_VALUE, MAX_EXPANDED } from './logic.js';

export interface LoadOptions {
  /**
   * for $(ENV) and if-env / if-not-env: the environment vassals inherit (never EMPEROR_*);
   * default: none (the emperor's own environment is never the default)
   */
  env?: Record<string, string | undefined>;
  /** --vassal-defaults FILE: its keys apply under the vassal's own */
  defaults?: string | null;
  /**
   * tyrant mode: the user expected to own the file (uid and groups). The file must be a
   * regular file of theirs with one link, not a symlink; includes and if-exists resolve as them.
   */
  owner?: Who | null;
}

export type LoadResult =
  | { ok: true; config: VassalConfig; warnings: string[] }
  | { ok: false; errors: ConfigError[] };

/** lines one config-logic run may execute (guards against runaway nested for loops) */
const LINE_BUDGET = 100_000;

function looksJson(file: string, text: string): boolean {
  return /\.json$/i.test(file) || (!/\.ini$/i.test(file) && text.trimStart().startsWith('{'));
}

/**
 * Read `file` (INI section [vassal], or JSON when it ends in .json) into the shared state.
 * Returns where "neither app nor exec" should point, or null when the file could not be read.
 */
function readInto(file: string, st: LogicState, isDefaults: boolean, owner: Who | null = null): KeySource | null {
  const r = readConfigText(file, { nofollow: owner !== null });
  if (r.ok && owner) {
    const no = ownerRefusal(r, owner);
    if (no) {
      st.errors.push(cfgError('E_TYRANT', file, 0, null, no));
      return null;
    }
  }
  if (r.ok) st.reads.set(resolve(file), r);
  if (!r.ok) {
    st.errors.push(r.kind === 'read'
      ? cfgError('E_READ', file, 0, null, `cannot read ${isDefaults ? 'the defaults file' : 'the config'}: ${r.reason}`)
      : cfgError('E_BINARY', file, r.line, null, r.reason));
    return null;
  }
  if (r.text.trim() === '') {
    if (!isDefaults) st.errors.push(cfgError('E_EMPTY', file, 0, null, 'the file is empty'));
    return { file, line: 0 };
  }
  if (looksJson(file, r.text)) {
    const before = st.errors.length;
    const j = readJsonText(r.text, file, st.errors);
    if (st.errors.length === before) {
      if (!j.found) st.errors.push(cfgError('E_EMPTY', file, 0, null, 'no "vassal" object: expected {"vassal": {...}}'));
      else if (j.keyCount === 0 && !isDefaults) st.errors.push(cfgError('E_EMPTY', file, j.header, 'vassal', 'the "vassal" object has no keys'));
    }
    for (const e of j.entries) {
      st.entries.push(e);
      if (e.key === 'set-ph') {
        const ph = splitSetPh(e.value);
        if (ph) st.vars.set(ph.name, ph.value);
      } else {
        st.vars.set(e.key, e.value);
      }
    }
    return { file, line: j.header || 1 };
  }
  st.stack = [{ id: fileId(r.info, 'vassal'), file }];
  const info = runIniText(r.text, file, 'vassal', st, fileId(r.info, 'vassal'));
  st.stack = [];
  if (!info.found) st.errors.push(cfgError('E_EMPTY', file, 0, null, 'no [vassal] section'));
  else if (info.lineCount === 0 && !isDefaults) st.errors.push(cfgError('E_EMPTY', file, info.header, null, 'the [vassal] section has no keys'));
  return { file, line: info.header || 1 };
}

/** Tyrant mode: why the descriptor that was read is not the owner's own plain file, or null. */
function ownerRefusal(r: Extract<ReadOutcome, { ok: true }>, owner: Who): string | null {
  if (r.info.uid === 0) return 'tyrant mode refuses root-owned files (a vassal would run as root)';
  if (r.info.uid !== owner.uid) return `the file changed owner while it was read (uid ${r.info.uid}, expected ${owner.uid})`;
  if (r.info.nlink > 1) return `tyrant mode refuses hard links: the file has ${r.info.nlink} names (it could be another user's file)`;
  return null;
}

function load(file: string, opts: LoadOptions): LoadResult {
  const absFile = resolve(file);
  const dir = dirname(absFile);
  const name = candidateName(file);
  const errors: ConfigError[] = [];
  const warnings: string[] = [];
  if (!isVassalName(name)) {
    errors.push(cfgError('E_NAME', file, 0, null,
      `\`${name}\` is not a valid vassal name: 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit`));
  }
  const st: LogicState = {
    env: opts.env ?? {},
    magic: { n: name, d: dir.endsWith('/') ? dir : `${dir}/`, p: absFile, s: basename(absFile), c: basename(dir) },
    vars: new Map(),
    entries: [],
    errors,
    stack: [],
    budget: LINE_BUDGET,
    who: opts.owner ?? null,
    reads: new Map(),
    lexed: new Map(),
    expanded: 0,
    scanned: 0,
    halted: false,
  };
  if (opts.defaults) {
    // the operator's defaults file: read as the emperor, not as the vassal's owner
    st.who = null;
    readInto(opts.defaults, st, true);
    st.who = opts.owner ?? null;
    // what was read as the emperor must not answer the owner's includes of the same paths
    st.reads = new Map();
    st.lexed = new Map();
  }
  const anchor = readInto(file, st, false, opts.owner ?? null);
  if (!anchor) return { ok: false, errors };
  const config = validate(st.entries, {
    name, file, absFile, dir, anchor, suppressMissing: errors.some((e) => e.code !== 'E_NAME'), tyrant: Boolean(opts.owner),
  }, errors, warnings);
  if (!config || errors.length > 0) return { ok: false, errors };
  if (opts.owner) {
    const info = st.reads.get(absFile)?.ok ? (st.reads.get(absFile) as Extract<ReadOutcome, { ok: true }>).info : null;
    if (info) config.owner = { uid: info.uid, gid: info.gid };
    // touch-reload: the emperor watches these paths as root; a tenant may name only what they could see
    // (a path not there yet counts when its directory is one the owner can see into)
    // (and never through a symlink: the watcher stats as root, it would follow it to a root-only file)
    const linked = (p: string): boolean => fs.lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink() ?? false;
    const hidden = config.touchReload.filter((p) => linked(p) || (!visibleTo(opts.owner!, p) && !visibleTo(opts.owner!, dirname(p))));
    if (hidden.length > 0) {
      const src = config.sources['touch-reload'];
      return {
        ok: false,
        errors: [cfgError('E_VALUE', src?.file ?? absFile, src?.line ?? 0, 'touch-reload', `uid ${opts.owner.uid} cannot see ${hidden.join(', ')}, or it is a symlink (tyrant mode: touch-reload names only paths the file's owner could reach, never through a link)`)],
      };
    }
  }
  return { ok: true, config, warnings };
}

export function loadVassalFile(file: string, opts: LoadOptions = {}): LoadResult {
  try {
    return load(file, opts);
  } catch (e) {
    return { ok: false, errors: [cfgError('E_READ', file, 0, null, `unexpected error while loading: ${(e as Error)?.message ?? String(e)}`)] };
  }
}
export { intDefault } from './keys.js';
export { canEnter, descriptorRefusal, readBounded } from './read.js';
