// Captured output of removed vassals (emperor/logs/): kept REMOVED_LOG_RETENTION_MS (7 days)
// after its last line, then deleted by the sweep an emperor runs at start (and hourly). Negative
// controls: a present vassal's old output, and a removed vassal's recent output, are kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REMOVED_LOG_RETENTION_MS, logFile } from '../../emperor/logs/index.js';
import { appIni, startEmperor, waitUntil } from '../helpers/emperor.js';

test("a removed vassal's captured output is deleted once older than the retention, and only then", { timeout: 90_000 }, async (t) => {
  const e = await startEmperor(t);
  for (const name of ['gone', 'recent', 'kept']) e.write(`${name}.ini`, appIni('chatty.mjs', path.join(e.dir, `${name}.sock`)));
  const log = (name: string): string => logFile(e.statePath, name);
  for (const name of ['gone', 'recent', 'kept']) {
    await e.waitVassal(name, 'ready');
    await waitUntil(() => fs.existsSync(log(name)) && fs.readFileSync(log(name), 'utf8').includes('chatty loaded'), 10_000, `${name}'s output to be stored`);
  }
  e.remove('gone.ini');
  e.remove('recent.ini');
  await e.waitGone('gone');
  await e.waitGone('recent');
  assert.ok(fs.existsSync(log('gone')), 'kept right after the removal (the retention runs from the last line)');
  assert.equal(await e.stop('SIGTERM', 15_000), 0); // its last lines are flushed: now the clock can be set

  // the last lines were written 8 days ago: past the retention for gone and kept, not for recent
  const old = (Date.now() - REMOVED_LOG_RETENTION_MS - 24 * 3600 * 1000) / 1000;
  fs.writeFileSync(`${log('gone')}.1`, 'an earlier rotated file\n', { mode: 0o600 });
  for (const f of [log('gone'), `${log('gone')}.1`, log('kept')]) fs.utimesSync(f, old, old);

  const e2 = await startEmperor(t, { dir: e.dir });
  await e2.waitLog((l) => l.vassal === 'gone' && /deleted the captured output/.test(String(l.msg)), 10_000, 'the sweep to delete the removed vassal\'s output');
  assert.ok(!fs.existsSync(log('gone')), 'NAME.log deleted');
  assert.ok(!fs.existsSync(`${log('gone')}.1`), 'NAME.log.1 deleted with it');
  assert.ok(fs.existsSync(log('recent')), 'a removed vassal\'s recent output is kept');
  assert.ok(fs.existsSync(log('kept')), 'a present vassal\'s output is kept however old');
  await e2.waitVassal('kept', 'ready');
  assert.equal(await e2.stop('SIGTERM', 15_000), 0);
  fs.rmSync(e.dir, { recursive: true, force: true });
});
