// What a test needs from the machine beyond Node and npm (Chromium, tini, tmux, a system python3):
// on a fresh machine such a test skips with a reason naming the missing program, so `npm ci &&
// npm test` is true there; under EMPEROR_TEST_REQUIRE=all (CI sets it) nothing skips: the test runs
// and fails on the missing program instead, so CI still covers everything.
import fs from 'node:fs';
import path from 'node:path';

/** CI: every test must run (a skip for a missing program is a failure) */
export const REQUIRE_ALL = process.env.EMPEROR_TEST_REQUIRE === 'all';

export function onPath(cmd: string): string | null {
  if (cmd.includes('/')) return fs.existsSync(cmd) ? cmd : null;
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && fs.existsSync(path.join(dir, cmd))) return path.join(dir, cmd);
  return null;
}

/**
 * A python3 that vassals (running as `nobody`) can execute: a system one, never a shim under /root
 * (pyenv), which nobody cannot reach. Falls back to the name, for a test that then fails loudly.
 */
export const SYSTEM_PYTHON = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => fs.existsSync(p)) ?? null;

/**
 * `{ skip }` for node:test: a reason when a program is missing (and CI does not require it),
 * else false. `programs` are names looked up on PATH or absolute paths; `hint` says how to get them.
 */
export function needs(programs: string[], hint = ''): string | false {
  const missing = programs.filter((p) => !onPath(p));
  if (missing.length === 0 || REQUIRE_ALL) return false;
  return `needs ${missing.join(', ')}, not found on this machine${hint ? ` (${hint})` : ''}; set EMPEROR_TEST_REQUIRE=all to fail instead`;
}

/** Skip reason for tests that run exec vassals on a system python3 (see SYSTEM_PYTHON). */
export const needsPython = (): string | false =>
  SYSTEM_PYTHON || REQUIRE_ALL ? false : 'needs a system python3 (/usr/bin/python3) that vassals running as nobody can execute (apt-get install -y python3); set EMPEROR_TEST_REQUIRE=all to fail instead';
