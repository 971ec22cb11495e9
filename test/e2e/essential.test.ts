// `essential = true` (SPEC §2, §8): an essential vassal whose backoff reaches its cap (60 s)
// makes the emperor stop the others gracefully and exit non-zero (4), so a container's
// orchestrator restarts it; `status --health` says unhealthy meanwhile. The real cap is reached
// after 1+2+4+8+16+32 s of backoff: this test lowers it to 4 s (EMPEROR_TEST_BACKOFF_CAP_MS, a
// test-only override in emperor/decide/policy.ts), reached after 1+2 s.
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

const FAST_CAP = { EMPEROR_TEST_BACKOFF_CAP_MS: '4000' };

test('an essential vassal that cannot become ready stops the emperor with exit code 4', { timeout: 60_000 }, async (t) => {
  const e = await startEmperor(t, { env: FAST_CAP });
  e.write('good.ini', appIni('env.mjs', path.join(e.dir, 'good.sock')));
  const good = await e.waitVassal('good', 'ready');
  assert.equal(health(e.statePath).code, 0, 'healthy with no essential vassal');
  e.write('core.ini', appIni('exits-soon.mjs', path.join(e.dir, 'core.sock'), 'essential = true'));
  await e.waitVassal('core', 'backoff');
  const h = health(e.statePath);
  assert.notEqual(h.code, 0);
  assert.match(h.out, /core/);
  const code = await waitUntil(() => e.exitCode, 30_000, 'the emperor to give up on its essential vassal', 200);
  assert.equal(code, 4);
  // the exit can be seen before the last output lines are read
  await e.waitLog((l) => l.event === 'essential-failed' && l.vassal === 'core', 5000, 'the essential-failed event');
  await e.waitLog((l) => l.event === 'stopped' && l.vassal === 'good', 5000, 'the others stopped gracefully');
  assert.ok(!alive(good.pid!));
});

test('negative control: the same failing vassal without `essential` reaches the cap and the emperor keeps running', { timeout: 60_000 }, async (t) => {
  const e = await startEmperor(t, { env: FAST_CAP });
  e.write('core.ini', appIni('exits-soon.mjs', path.join(e.dir, 'core.sock')));
  // the backoff reached the (lowered) cap: where an essential vassal would have stopped the emperor
  await e.waitLog((l) => l.event === 'backoff' && l.vassal === 'core' && l.delayMs === 4000, 30_000, 'a backoff at the cap');
  const spawns = e.events('spawned', 'core').length;
  await waitUntil(() => e.events('spawned', 'core').length > spawns, 15_000, 'a start after the capped wait');
  assert.equal(e.exitCode, null, 'the emperor still runs');
  assert.equal(e.events('essential-failed').length, 0);
  assert.equal(await e.stop('SIGTERM', 15_000), 0);
});
