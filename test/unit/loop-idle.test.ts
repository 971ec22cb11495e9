// A worker asleep in its event loop's epoll wait, seen from /proc without waking it
// (emperor/os/loop-idle.ts): the parsing of /proc/PID/stat and /proc/PID/syscall, hostile
// contents included, and the verdict on real processes: an idle Node is idle; a stopped one, a
// busy one, one blocked in a spawnSync's own loop (another epoll descriptor), a reused pid and a
// gone one are not (or not in the same loop).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { EPOLL_WAITS, loopIdle, pageSize, parseSyscall } from '../../emperor/os/loop-idle.js';
import { parseStat } from '../../emperor/os/proc-stat.js';
import { processStartTime } from '../../emperor/os/index.js';

const tail = '1 2 3 4 -1 4194560 100 0 0 0 5 6 0 0 20 0 11 0 777 1000000 2500 18446744073709551615 1 1 0 0 0 0 0 4096 134234626 0 0 0 17 1 0 0 0 0 0';

test('parseStat: pid, state, ppid, session, threads, start time (field 22) and RSS pages (field 24), read after the last parenthesis', () => {
  const at = (state: string) => ({ pid: 42, state, ppid: 1, sid: 3, threads: 11, start: 777, rssPages: 2500 });
  assert.deepEqual(parseStat(`42 (node) S ${tail}\n`), at('S'));
  // a command name with spaces and parentheses, one that mimics the fields, one with a newline
  assert.deepEqual(parseStat(`42 (a b) c) S ${tail}`), at('S'));
  assert.deepEqual(parseStat(`42 (x) R 1 2 3) T ${tail}`), at('T'));
  assert.deepEqual(parseStat(`42 ((((() R ${tail}`), at('R'));
  assert.deepEqual(parseStat(`42 (new\nline) D ${tail}`), at('D'));
  // what does not parse is not a verdict
  for (const bad of ['', 'running', '42 node S 1 2 3', `42 (node) S 1 2 3`, `42 (node) SS ${tail}`, `42 (node) S ${tail.replace('777', 'x77')}`, `42 (node) S ${tail.replace('777', '1e3')}`, `42 )node( S ${tail}`, `42 (node)`, `4x2 (node) S ${tail}`, `42 (node) S ${tail.replace('0 11 0', '0 -11 0')}`])
    assert.equal(parseStat(bad), null, JSON.stringify(bad));
});

test('parseSyscall: the number and first argument of a blocked call; "running", -1 and garbage are null', () => {
  assert.deepEqual(parseSyscall('281 0xe 0x7ffe0ccec960 0x400 0x3b9aca00 0x0 0x8 0x7ffe0ccebc00 0x7f1026126cae\n'), { nr: 281, arg0: 14 });
  assert.deepEqual(parseSyscall('22 0x12 0x1 0x400 0xffffffff 0x0 0x8 0x1 0x1'), { nr: 22, arg0: 18 });
  for (const bad of ['running', 'running\n', '-1 0x7ffe0ccebc00 0x7f1026126cae', '', '281', '281 14 0x1', 'x 0x1 0x2', '281 0xzz 0x1', '1e3 0x1 0x2'])
    assert.equal(parseSyscall(bad), null, JSON.stringify(bad));
  assert.deepEqual(EPOLL_WAITS.x64, [232, 281, 441]);
  assert.deepEqual(EPOLL_WAITS.arm64, [22, 441]);
});

function node(code: string): ChildProcess {
  const child = spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
  return child;
}

/** the child's main thread asleep in its loop (what an idle worker does), or null after `ms` */
async function waitIdle(pid: number, start: number, ms = 5000): Promise<ReturnType<typeof loopIdle>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const seen = loopIdle(pid, start);
    if (seen || Date.now() > deadline) return seen;
    await sleep(50);
  }
}

test('loopIdle on real processes: idle yes; stopped, busy, another loop (spawnSync), a reused or gone pid no', { skip: !EPOLL_WAITS[process.arch] && `no epoll table for ${process.arch}` }, async (t) => {
  const kids: ChildProcess[] = [];
  t.after(() => {
    for (const k of kids) k.kill('SIGKILL');
  });
  // idle: a timer far away, the loop waits
  const idle = node('setInterval(() => {}, 1e9)');
  kids.push(idle);
  await sleep(300);
  const start = processStartTime(idle.pid!)!;
  const seen = await waitIdle(idle.pid!, start);
  assert.ok(seen, 'an idle Node is asleep in epoll');
  assert.ok(seen.epfd > 2 && seen.rssPages > 0);
  // the same again: same descriptor (its loop's)
  assert.equal(loopIdle(idle.pid!, start)?.epfd, seen.epfd);
  // a pid reused (another start time), an unknown architecture, no start time: no verdict
  assert.equal(loopIdle(idle.pid!, start + 1), null);
  assert.equal(loopIdle(idle.pid!, start, 'mips'), null);
  assert.equal(loopIdle(idle.pid!, 0), null);
  // stopped: /proc/PID/syscall still shows the epoll call it was stopped in; the state says T
  idle.kill('SIGSTOP');
  await sleep(100);
  assert.equal(loopIdle(idle.pid!, start), null, 'a stopped process is not idle');
  idle.kill('SIGCONT');
  assert.ok(await waitIdle(idle.pid!, start), 'idle again once continued');

  // busy: its main thread runs (state R, syscall "running")
  const busy = node('for (;;);');
  kids.push(busy);
  await sleep(300);
  const busyStart = processStartTime(busy.pid!)!;
  for (let i = 0; i < 20; i++) assert.equal(loopIdle(busy.pid!, busyStart), null, 'a busy loop is never idle');

  // blocked in spawnSync: asleep in epoll too, but in the spawnSync's own loop (another descriptor)
  const sync = node(`setTimeout(() => require('node:child_process').execSync('sleep 3'), 700); setInterval(() => {}, 1e9)`);
  kids.push(sync);
  await sleep(300);
  const syncStart = processStartTime(sync.pid!)!;
  const home = await waitIdle(sync.pid!, syncStart);
  assert.ok(home);
  await sleep(1000);
  const inSync = loopIdle(sync.pid!, syncStart);
  assert.ok(inSync === null || inSync.epfd !== home.epfd, `blocked in execSync: not its loop's descriptor (${JSON.stringify({ home, inSync })})`);

  // gone: no process
  idle.kill('SIGKILL');
  await new Promise((r) => idle.once('exit', r));
  await sleep(50);
  assert.equal(loopIdle(idle.pid!, start), null, 'a gone process is not idle');
});

test('loopIdle costs a few microseconds (two small synchronous reads); the page size is found', { skip: !EPOLL_WAITS[process.arch] && `no epoll table for ${process.arch}` }, async (t) => {
  const idle = node('setInterval(() => {}, 1e9)');
  t.after(() => idle.kill('SIGKILL'));
  await sleep(300);
  const start = processStartTime(idle.pid!)!;
  assert.ok(await waitIdle(idle.pid!, start));
  const n = 2000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) loopIdle(idle.pid!, start);
  const us = Number(process.hrtime.bigint() - t0) / 1000 / n;
  t.diagnostic(`loopIdle: ${us.toFixed(1)} us per call`);
  assert.ok(us < 500, `${us} us per call`);
  assert.ok([4096, 16384, 65536].includes(pageSize()!));
});

// /proc/PID/syscall of another user's process needs CAP_SYS_PTRACE (a container may lack it):
// EACCES there is "not provably idle", and the keeper pings as before. Seen from a reader that
// runs as nobody, against this test's idle child (root's): null, where root's own read says idle.
test('loopIdle read by another user without CAP_SYS_PTRACE (EACCES): no verdict', { skip: (process.getuid?.() !== 0 || !EPOLL_WAITS[process.arch]) && 'needs root (to run a reader as nobody)' }, async (t) => {
  const idle = node('setInterval(() => {}, 1e9)');
  t.after(() => idle.kill('SIGKILL'));
  await sleep(300);
  const start = processStartTime(idle.pid!)!;
  assert.ok(await waitIdle(idle.pid!, start), 'root sees it idle');
  const mod = fileURLToPath(new URL('../../emperor/os/loop-idle.js', import.meta.url));
  const code = `import { loopIdle } from ${JSON.stringify(mod)}; import fs from 'node:fs'; let code = null; try { fs.readFileSync('/proc/${idle.pid}/syscall'); } catch (e) { code = e.code; } console.log(JSON.stringify({ seen: loopIdle(${idle.pid}, ${start}), code }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { seen: unknown; code: string | null };
  assert.equal(out.code, 'EACCES', 'the read is refused');
  assert.equal(out.seen, null, 'and gives no verdict');
});
