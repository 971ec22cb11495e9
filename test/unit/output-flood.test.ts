// A copy that prints without pause (`yes`) is read in bounded amounts: its pipes pause once the
// vassal's output budget is spent, so the process reading them (the keeper) does not spend a core
// splitting and dropping millions of lines. Seen failing before the fix (31 million lines read in
// 3 s, 100 % of a core); negative control: a copy printing slowly is never paused (every line passes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnCopy } from '../../emperor/os/spawn.js';
import { OutputBudget } from '../../emperor/os/output.js';

function run(argv: string[], ms: number): Promise<{ emitted: number; dropped: number; cpuMs: number }> {
  let dropped = 0;
  let emitted = 0;
  const budget = new OutputBudget((n) => (dropped += n));
  const copy = spawnCopy({
    argv, cwd: '/', env: { PATH: '/usr/bin:/bin' }, socketFd: null, socketKey: null, channel: 'notify', honourStdin: false, listenFdName: null, fallbackIds: null,
    outputBudget: budget, gate: false, onLine: () => void emitted++, onMessage: () => undefined, onNotify: () => undefined,
  });
  const cpu0 = process.cpuUsage();
  return new Promise((resolve) =>
    setTimeout(() => {
      const c = process.cpuUsage(cpu0);
      copy.signal('SIGKILL');
      void copy.exit.then(() => resolve({ emitted, dropped, cpuMs: (c.user + c.system) / 1000 }));
    }, ms),
  );
}

test('a `yes` copy is read in bounded amounts (its pipe pauses once the budget is spent)', async (t) => {
  const r = await run(['yes'], 2000);
  t.diagnostic(JSON.stringify(r));
  assert.ok(r.emitted <= 2000 + 1000 * 3, `lines passed on stay within the budget (${r.emitted})`);
  // at most ~10 pauses a second of 64 KiB (32 Ki lines of "y") each: a few hundred thousand lines
  assert.ok(r.emitted + r.dropped < 1_000_000, `lines read in 2 s: ${r.emitted + r.dropped}`);
  assert.ok(r.cpuMs < 1000, `reading it cost ${r.cpuMs.toFixed(0)} ms of CPU in 2 s`);
});

test('negative control: a copy printing 200 lines a second is never held back', async () => {
  const r = await run(['/bin/sh', '-c', 'i=0; while [ $i -lt 300 ]; do echo line $i; i=$((i+1)); sleep 0.005; done; sleep 5'], 2500);
  assert.equal(r.dropped, 0);
  assert.ok(r.emitted >= 200, `every line passed (${r.emitted})`);
});
