// test/unit/stray-filter.test.ts — the stray sweep's prefilter (emperor/os/stray-filter.ts) on
// process tables built here: a copy that left nothing behind gives no candidate (the helper is not
// started), and every way a descendant can outlive its copy's group is a candidate, including in
// random process trees (fast-check) where the kernel's reparenting is simulated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fc from 'fast-check';
import { lineage, readProcTable, strayCandidates, type ProcStat } from '../../emperor/os/stray-filter.js';
import { parseStat } from '../../emperor/os/proc-stat.js';

const INIT = 1;
const SHELL = 500; // the emperor's parent, started long ago
const EMPEROR = 600;
const COPY = 700; // the copy that exited, started at tick 1000
const COPY_START = 1000;

function row(pid: number, ppid: number, sid: number, start: number, state = 'S', threads = 1): ProcStat {
  return { pid, ppid, sid, start, state, threads, rssPages: 0 };
}

/** init, a shell, the emperor in its own session, sshd with a login, another emperor and its copy */
function base(): Map<number, ProcStat> {
  const rows = [
    row(INIT, 0, 1, 1),
    row(2, 0, 0, 1), // kthreadd
    row(SHELL, INIT, SHELL, 100),
    row(EMPEROR, SHELL, EMPEROR, 200),
    row(650, EMPEROR, EMPEROR, 300), // the socket forge
    row(300, INIT, 300, 50), // sshd
    row(310, 300, 310, 60), // an old login
    row(900, 2, 0, 1500), // a kworker started since
    row(800, 310, 310, 400), // another emperor, from that login
    row(1200, 800, 1200, 1600), // its copy (setsid), started since
    row(1201, 1200, 1200, 1650), // and that copy's child
  ];
  return new Map(rows.map((r) => [r.pid, r]));
}

function ctx(table: Map<number, ProcStat>, live: Array<[number, number]> = [], dead = [{ pid: COPY, start: COPY_START }]) {
  return { dead, live: new Map(live), ancestors: lineage(EMPEROR, table), self: EMPEROR };
}

test('parseStat reads state, ppid, session, threads and start time, whatever the comm holds', () => {
  const text = '4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 3 0 123456 1000 10 18446744073709551615';
  assert.deepEqual(parseStat(text), { pid: 4242, ppid: 1, state: 'S', sid: 4242, start: 123456, threads: 3, rssPages: 10 });
  const me = readProcTable().get(process.pid);
  assert.ok(me && me.ppid === process.ppid && me.start > 0, JSON.stringify(me));
  assert.equal(me.sid, Number(fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[3]));
});

test('a copy that left nothing behind: no candidate (the replacement, the emperor\'s lookups, other emperors, kernel threads)', () => {
  const t = base();
  t.set(1300, row(1300, EMPEROR, 1300, 1700)); // the replacement copy (setsid), a known live copy
  t.set(1301, row(1301, 1300, 1300, 1710)); // a child of it
  t.set(1302, row(1302, 1301, 1302, 1720)); // a setsid grandchild of the LIVE copy, still parented
  t.set(1310, row(1310, EMPEROR, EMPEROR, 1800)); // a getent lookup, in the emperor's session
  t.set(1320, row(1320, SHELL, SHELL, 1900)); // a command of the shell, in its session
  t.set(1330, row(1330, INIT, 1330, 50)); // an old daemon (its own session)
  t.set(COPY, row(COPY, EMPEROR, COPY, COPY_START, 'Z')); // the copy itself, not reaped yet
  assert.deepEqual(strayCandidates(t, ctx(t, [[1300, 1700]])), []);
});

test('the ways out of a copy\'s group are candidates', () => {
  const cases: Array<[string, ProcStat[], number[]]> = [
    ['setsid grandchild reparented to init', [row(710, INIT, 710, 1010)], [710]],
    ['double fork: its session leader is gone', [row(711, INIT, 705, 1010)], [711]],
    ['setpgid only: still in the copy\'s session', [row(712, INIT, COPY, 1010)], [712]],
    ['reparented to the emperor (a subreaper)', [row(713, EMPEROR, 713, 1010)], [713]],
    ['reparented to the shell (a subreaper above the emperor)', [row(714, SHELL, 714, 1010)], [714]],
    ['a chain: its parent is another stray', [row(715, INIT, 715, 1010), row(716, 715, 715, 1020), row(717, 716, 717, 1030)], [715, 716, 717]],
    ['a leader that exited while its threads run', [row(718, INIT, 718, 1010, 'Z', 4)], [718]],
    ['a process in a pid namespace whose parent is outside it', [row(719, 0, 0, 1010)], [719]],
    ['in the same tick as the copy', [row(720, INIT, 720, COPY_START)], [720]],
  ];
  for (const [what, rows, want] of cases) {
    const t = base();
    for (const r of rows) t.set(r.pid, r);
    assert.deepEqual(strayCandidates(t, ctx(t)).sort((a, b) => a - b), want, what);
  }
});

test('an unknown start time of the dead copy rules nothing out by age', () => {
  const t = base();
  t.set(1400, row(1400, INIT, 1400, 150)); // older than the copy: only because its start is unknown
  assert.ok(strayCandidates(t, ctx(t, [], [{ pid: COPY, start: 0 }])).includes(1400));
});

/**
 * Random trees under a copy: each process forks at a later tick, some call setsid or setpgid;
 * then the copy dies, its group is SIGKILLed, random others exit too, and every orphan goes to
 * the nearest subreaper among its dead parent's ancestors (the emperor's lineage may hold one) or
 * to init. Every surviving descendant must be a candidate.
 */
test('property: no descendant that outlived its copy\'s group is missed', () => {
  type Node = { pid: number; parent: number; sid: number; pgid: number; start: number; dies: boolean; subreaper: boolean };
  const arb = fc.record({
    nodes: fc.array(fc.record({ parent: fc.nat(), setsid: fc.boolean(), setpgid: fc.boolean(), dies: fc.boolean(), subreaper: fc.boolean(), gap: fc.nat(50) }), { minLength: 1, maxLength: 12 }),
    subreaper: fc.constantFrom(null, EMPEROR, SHELL),
    others: fc.array(fc.record({ parent: fc.constantFrom(INIT, SHELL, EMPEROR, 300, 800), start: fc.nat(3000), setsid: fc.boolean() }), { maxLength: 6 }),
  });
  fc.assert(
    fc.property(arb, ({ nodes, subreaper, others }) => {
      const t = base();
      const all: Node[] = [{ pid: COPY, parent: EMPEROR, sid: COPY, pgid: COPY, start: COPY_START, dies: true, subreaper: false }];
      let tick = COPY_START;
      nodes.forEach((n, i) => {
        const parent = all[n.parent % all.length]!;
        const pid = 2000 + i;
        tick += n.gap;
        all.push({ pid, parent: parent.pid, sid: n.setsid ? pid : parent.sid, pgid: n.setsid || n.setpgid ? pid : parent.pgid, start: Math.max(tick, parent.start), dies: n.dies, subreaper: n.subreaper });
      });
      const dead = new Set(all.filter((n) => n.dies || n.pgid === COPY).map((n) => n.pid));
      const byPid = new Map(all.map((n) => [n.pid, n]));
      const reaperOf = (pid: number): number => {
        // a living parent keeps it; else the nearest living subreaper above the dead parent (one of
        // the copy's descendants, or above the copy: the emperor's lineage), else init
        const parent = byPid.get(pid)!.parent;
        if (!dead.has(parent)) return parent;
        for (let p = byPid.get(parent)!.parent; p !== EMPEROR; p = byPid.get(p)!.parent) if (!dead.has(p) && byPid.get(p)!.subreaper) return p;
        return subreaper ?? INIT;
      };
      for (const n of all) if (!dead.has(n.pid)) t.set(n.pid, row(n.pid, reaperOf(n.pid), n.sid, n.start));
      others.forEach((o, i) => t.set(5000 + i, row(5000 + i, o.parent, o.setsid ? 5000 + i : (t.get(o.parent)?.sid ?? o.parent), o.start)));
      const found = new Set(strayCandidates(t, ctx(t)));
      for (const n of all) if (!dead.has(n.pid)) assert.ok(found.has(n.pid), `missed ${n.pid}: ${JSON.stringify(t.get(n.pid))}`);
    }),
    { numRuns: 500 },
  );
});

test('long parent chains cost linear work: 4 setsid chains of 4096 processes each (a tenant building them to stall the sweep)', () => {
  const table = base();
  let pid = 10_000;
  const chains: number[][] = [];
  for (let c = 0; c < 4; c++) {
    // each chain's root left the copy's group with setsid and was reparented to init
    const chain = [pid];
    table.set(pid, row(pid, INIT, pid, 2000 + c));
    for (let i = 1; i < 4096; i++) {
      table.set(pid + i, row(pid + i, pid + i - 1, chain[0]!, 2000 + c + i));
      chain.push(pid + i);
    }
    chains.push(chain);
    pid += 10_000;
  }
  let lookups = 0;
  const counted = new (class extends Map<number, ProcStat> {
    override get(k: number): ProcStat | undefined {
      lookups++;
      return super.get(k);
    }
  })(table);
  const found = new Set(strayCandidates(counted, ctx(table)));
  for (const chain of chains) for (const p of chain) assert.ok(found.has(p), `chain member ${p} is a candidate`);
  assert.ok(lookups < 10 * table.size, `${lookups} table lookups for ${table.size} processes: linear, not quadratic`);
});
