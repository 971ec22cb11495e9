// Helpers shared by the config*.test.ts files (temp dirs, fixtures, error assertions); no tests here.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ConfigError, ErrorCode } from '../../shared/errors.js';
import type { VassalConfig } from '../../shared/types.js';
import { loadVassalFile, type LoadOptions, type LoadResult } from '../../emperor/config/index.js';

export function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'emperor-config-'));
}

export function write(dir: string, rel: string, text: string | Buffer): string {
  const p = join(dir, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
  return p;
}

/** write `text` as dir/name and load it */
export function loadText(text: string, name = 'app.ini', opts: LoadOptions = {}): { res: LoadResult; file: string; dir: string } {
  const dir = tmp();
  const file = write(dir, name, text);
  return { res: loadVassalFile(file, { env: {}, ...opts }), file, dir };
}

export function ok(res: LoadResult): { config: VassalConfig; warnings: string[] } {
  if (!res.ok) assert.fail(`expected ok, got errors: ${JSON.stringify(res.errors, null, 1)}`);
  return res;
}

export function errs(res: LoadResult): ConfigError[] {
  if (res.ok) assert.fail('expected errors, got a config');
  return res.errors;
}

/** the one error with `code`, checked for file, line and key */
export function expectError(res: LoadResult, code: ErrorCode, file: string, line: number, key: string | null): ConfigError {
  const list = errs(res);
  const e = list.find((x) => x.code === code);
  assert.ok(e, `no ${code} among ${JSON.stringify(list, null, 1)}`);
  assert.equal(e.file, file, `${code} file`);
  assert.equal(e.line, line, `${code} line`);
  assert.equal(e.key, key, `${code} key`);
  assert.ok(e.message.length > 0);
  return e;
}
