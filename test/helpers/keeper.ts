// Test helpers shared by the keeper's tests and the stray sweep's: the brain of a running
// emperor, a client loop over vassal sockets, an exec vassal that leaves a setsid grandchild,
// and the spare workers of a vassal.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { alive, parentOf, request, waitUntil, type EmperorProc } from './emperor.js';

/** The live brain the status names (a child of the keeper). */
export function brainOf(e: EmperorProc): number {
  const pid = e.status().emperor.brainPid;
  assert.ok(pid && alive(pid), 'status names a live brain');
  assert.equal(parentOf(pid), e.pid, "the brain is the keeper's child");
  return pid;
}

/** A client loop over every given socket: counts answers and failures until stopped (bounded). */
export function clientLoop(sockets: string[]): { stop(): Promise<{ ok: number; failed: number; errors: string[] }> } {
  let running = true;
  const figures = { ok: 0, failed: 0, errors: [] as string[] };
  const loops = sockets.map(async (socketPath) => {
    for (let i = 0; running && i < 100_000; i++) {
      try {
        const r = await request({ socketPath }, '/', { timeoutMs: 5000 });
        if (r.status === 200) figures.ok++;
        else {
          figures.failed++;
          figures.errors.push(`status ${r.status}`);
        }
      } catch (err) {
        figures.failed++;
        if (figures.errors.length < 10) figures.errors.push((err as Error).message);
      }
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return figures;
    },
  };
}

/**
 * An exec vassal `d` whose copy leaves a grandchild outside its group and session (setsid), as a
 * daemon does; resolves once the copy is ready and the grandchild runs. The grandchild is killed
 * when the test ends if nothing ended it.
 */
export async function daemonizingVassal(t: TestContext, e: EmperorProc): Promise<{ pid: number; grandchild: number }> {
  const script = path.join(e.dir, 'daemonize.sh');
  const pidFile = path.join(e.dir, 'grandchild.pid');
  // the grandchild leaves the copy's group and session; the copy itself is the exec'd sleep
  fs.writeFileSync(script, `#!/bin/sh\nsetsid sh -c 'echo $$ > ${pidFile}; exec sleep 300' &\nexec sleep 300\n`, { mode: 0o755 });
  fs.chmodSync(e.dir, 0o777); // the vassal (nobody) writes its pid file there
  e.write('d.ini', `[vassal]\nexec = /bin/sh ${script}\nready-after = 100\nmercy = 2\n`);
  const v = await e.waitVassal('d', (r) => r.state === 'ready' && r.pid !== null, 20_000);
  const grandchild = await waitUntil(() => {
    const n = Number(fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8').trim() : '');
    return n > 0 && alive(n) ? n : null;
  }, 10_000, 'the grandchild pid');
  t.after(() => {
    if (alive(grandchild)) process.kill(grandchild, 'SIGKILL');
  });
  return { pid: v.pid!, grandchild };
}

/** live spare workers of `name`: their title says so (process.title rewrites the command line) */
export function sparesOf(name: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/cmdline`, 'latin1').replace(/\0+$/, '') === `emperor spare ${name}` && alive(Number(d))) out.push(Number(d));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** the one spare of `name` (other than `not`), waited for; its pid is cleaned up with the emperor */
export async function oneSpare(e: EmperorProc, name: string, not: number[] = []): Promise<number> {
  const pid = await waitUntil(() => {
    const s = sparesOf(name).filter((p) => !not.includes(p));
    return s.length === 1 ? s[0] : undefined;
  }, 15_000, `one spare of ${name}`);
  e.seenPids.add(pid);
  return pid;
}
