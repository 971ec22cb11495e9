#!/usr/bin/env node
// bench/kill-loop.mjs — the restart policy under an operator's (or the OOM killer's) kill -9:
// the only copy of a vassal is SIGKILLed each time it has served for ~2 s, ROUNDS times in a row.
// Measured per round: time from the kill until a request sent after it is answered 200 ("served
// again"; the socket stays held, so the request waits in its backlog). Beside it, the baseline:
// a bare `node` start of the same app (spawn -> first 200 on its own port), ROUNDS times.
// SPEC §3: a copy that was ready and ran >= 1 s is replaced at once, every time.
//
//   node bench/kill-loop.mjs [--rounds 10] [--served-ms 2000]
//
// Writes bench/results/kill-loop.json.
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import * as C from './compare-lib.mjs';

const { L } = C;
const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '10' }, 'served-ms': { type: 'string', default: '2000' } } });
const ROUNDS = Math.min(50, Math.max(1, Number(args.rounds)));
const SERVED_MS = Math.min(60_000, Math.max(1000, Number(args['served-ms'])));

/** First 200 on `port` from now (a new request every 2 ms while refused; one waits in a backlog). */
async function firstOk(port, since, limitMs = 30_000) {
  for (let i = 0; i < limitMs / 2; i++) {
    const r = await C.rawGet(port, Math.max(100, limitMs - (L.now() - since)));
    if (r.ok && r.t0 >= since) return r.t1 - since;
    if (L.now() - since > limitMs) break;
    await L.sleep(2);
  }
  return null;
}

async function bareStarts(app) {
  const out = [];
  for (let i = 0; i < ROUNDS; i++) {
    const port = await L.freePort();
    const t0 = L.now();
    const child = spawn(process.execPath, [L.BARE, app, `127.0.0.1:${port}`], { stdio: 'ignore' });
    L.track(child.pid, 'bare');
    out.push(await firstOk(port, t0));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    L.untrack(child.pid);
  }
  return out;
}

async function emperorKills(app) {
  const root = L.tempRoot('kill-loop');
  C.onCleanup('temp dir', () => L.removeDir(root.dir));
  const port = await L.freePort();
  const emp = await C.startEmperorOn(root);
  const fs = await import('node:fs');
  fs.writeFileSync(`${root.vassals}/killme.ini`, L.vassalIni(app, `127.0.0.1:${port}`));
  const out = [];
  for (let i = 0; i < ROUNDS; i++) {
    const doc = await C.waitStatus(root.state, (d) => {
      const v = d.vassals.find((x) => x.name === 'killme');
      const w = v?.workers?.[0];
      return v?.state === 'ready' && w?.ready && Date.now() - Date.parse(w.startedAt) >= SERVED_MS;
    }, { intervalMs: 50 });
    const pid = doc.vassals.find((x) => x.name === 'killme').pid;
    const t0 = L.now();
    process.kill(pid, 'SIGKILL');
    out.push(await firstOk(port, t0));
    // the next round kills the new copy, not a dead pid still in the record
    await C.waitStatus(root.state, (d) => d.vassals.find((x) => x.name === 'killme')?.pid !== pid, { intervalMs: 50 });
  }
  await emp.stop();
  // where the time goes, from the emperor's own events: exit seen -> next spawn (the supervisor),
  // spawn -> ready (the new copy starting: privilege drop, Node, the worker, the app)
  const events = (await C.readEvents(root.state)).filter((e) => e.vassal === 'killme');
  const phases = [];
  for (let i = 0; i < events.length; i++) {
    if (events[i].kind !== 'exited') continue;
    const spawned = events.slice(i).find((e) => e.kind === 'spawned');
    const ready = spawned && events.slice(events.indexOf(spawned)).find((e) => e.kind === 'ready');
    if (spawned && ready) phases.push({ exitToSpawn: Date.parse(spawned.ts) - Date.parse(events[i].ts), spawnToReady: Date.parse(ready.ts) - Date.parse(spawned.ts) });
  }
  return { out, phases };
}

await C.runMain('kill-loop', async () => {
  const root = L.tempRoot('kill-loop-app');
  C.onCleanup('temp dir', () => L.removeDir(root.dir));
  const app = L.writeApp(root.dir);
  const bare = await bareStarts(app);
  const { out: emperor, phases } = await emperorKills(app);
  const fmt = (xs) => xs.map((x) => (x === null ? 'down' : `${Math.round(x)}`)).join(', ');
  const worst = (xs) => (xs.includes(null) ? Infinity : Math.max(...xs));
  const med = (xs) => L.pct(xs.filter((x) => x !== null), 50);
  console.log(`bare node start -> first 200 (ms):       ${fmt(bare)}   median ${Math.round(med(bare))}`);
  console.log(`emperor kill -9 -> served again (ms):    ${fmt(emperor)}   median ${Math.round(med(emperor))}`);
  console.log(`  of which exit -> spawn (ms):            ${phases.map((p) => p.exitToSpawn).join(', ')}`);
  console.log(`  and spawn -> ready (ms):               ${phases.map((p) => p.spawnToReady).join(', ')}`);
  const ratio = worst(emperor) / med(bare);
  console.log(`median emperor / median bare:            ${(med(emperor) / med(bare)).toFixed(2)}x`);
  console.log(`worst emperor round / median bare start: ${ratio.toFixed(2)}x; / worst bare start: ${(worst(emperor) / worst(bare)).toFixed(2)}x (load ${L.machine().loadavg.join(' ')})`);
  L.writeResult('kill-loop', { rounds: ROUNDS, servedMs: SERVED_MS, bareMs: bare, emperorMs: emperor, phases, worstOverMedianBare: ratio, machine: L.machine() });
});
