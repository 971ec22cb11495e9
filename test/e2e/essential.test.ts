// `essential = true` (SPEC §2, §8): an essential vassal whose backoff reaches its cap (60 s)
// makes the emperor stop the others gracefully and exit non-zero (4), so a container's
// orchestrator restarts it; `status --health` says unhealthy meanwhile. Slow by nature: the cap
// is reached after 1+2+4+8+16+32 s of backoff.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { alive, appIni, CLI, startEmperor, waitUntil } from '../helpers/emperor.js';

function health(state: string): { code: number; out: string } {
  try {
    return { code: 0, out: execFileSync(process.execPath, [CLI, 'status', '--health', '--state', state], { encoding: 'utf8' }) };
  } catch (err) {
    const e = err as { status: number; stdout: string };
    return { code: e.status, out: e.stdout };
  }
}

test('an essential vassal that cannot become ready stops the emperor with exit code 4', { timeout: 150_000 }, async (t) => {
  const e = await startEmperor(t);
  e.write('good.ini', appIni('env.mjs', path.join(e.dir, 'good.sock')));
  const good = await e.waitVassal('good', 'ready');
  assert.equal(health(e.statePath).code, 0, 'healthy with no essential vassal');
  e.write('core.ini', appIni('exits-soon.mjs', path.join(e.dir, 'core.sock'), 'essential = true'));
  await e.waitVassal('core', 'backoff');
  const h = health(e.statePath);
  assert.notEqual(h.code, 0);
  assert.match(h.out, /core/);
  const code = await waitUntil(() => e.exitCode, 120_000, 'the emperor to give up on its essential vassal', 200);
  assert.equal(code, 4);
  // the exit can be seen before the last output lines are read
  await e.waitLog((l) => l.event === 'essential-failed' && l.vassal === 'core', 5000, 'the essential-failed event');
  await e.waitLog((l) => l.event === 'stopped' && l.vassal === 'good', 5000, 'the others stopped gracefully');
  assert.ok(!alive(good.pid!));
});
