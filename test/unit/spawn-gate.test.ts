// Unit test of the spawn gate (emperor/spawn.ts): at most START_LIMIT copies start at once; a
// copy frees its place when it reports ready (READY=1 here), exits, or after START_HOLD_MS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnCopy, whenSpawnSlot, START_HOLD_MS, START_LIMIT, type Copy } from '../../emperor/os/spawn.js';

/** START_LIMIT + 2 copies of `script` queued at once; ms from the queueing to each spawn */
async function burst(script: string): Promise<{ at: number[]; copies: Copy[] }> {
  const at: number[] = [];
  const copies: Copy[] = [];
  const t0 = Date.now();
  const n = START_LIMIT + 2;
  await new Promise<void>((resolve) => {
    for (let i = 0; i < n; i++) {
      whenSpawnSlot(() => {
        at.push(Date.now() - t0);
        copies.push(
          spawnCopy({
            argv: ['/bin/sh', '-c', script],
            cwd: os.tmpdir(),
            env: { PATH: '/usr/bin:/bin' },
            socketFd: null,
            socketKey: null,
            channel: 'notify',
            honourStdin: false,
            listenFdName: null,
            fallbackIds: null,
            onLine: () => undefined,
            onMessage: () => undefined,
            onNotify: () => undefined,
          }),
        );
        if (at.length === n) resolve();
      });
    }
  });
  return { at, copies };
}

async function end(copies: Copy[]): Promise<void> {
  await Promise.all(copies.map((c) => c.stop(100, 'SIGKILL')));
}

test('copies that never report ready: the ones past START_LIMIT wait for START_HOLD_MS', async () => {
  const { at, copies } = await burst('sleep 30');
  try {
    assert.ok(at[START_LIMIT - 1]! < START_HOLD_MS / 2, `the first ${START_LIMIT} start at once (${at.join(', ')})`);
    assert.ok(at[START_LIMIT]! >= START_HOLD_MS - 100, `the next waits for the hold (${at[START_LIMIT]} ms)`);
  } finally {
    await end(copies);
  }
});

test('negative control: copies that report READY=1 at once free their places, nothing waits', async () => {
  await sleep(50);
  const { at, copies } = await burst('echo READY=1 >&4; sleep 30');
  try {
    assert.ok(at[at.length - 1]! < START_HOLD_MS / 2, `every copy started without waiting (${at.join(', ')})`);
  } finally {
    await end(copies);
  }
});
