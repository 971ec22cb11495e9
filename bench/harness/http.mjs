// bench/harness/http.mjs — loopback HTTP as the benchmarks see it: one GET (node:http or a raw
// socket with Connection: close), GET until a 200 (bounded in attempts and time), and wrk runs
// with their parsed output. Every request and every wrk run is bounded in time.
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { now, round, sleep } from './core.mjs';
import { track, untrack } from './cleanup.mjs';

/**
 * One GET of target.path (default `/`): resolves { status } (with `body` when withBody) or
 * { error: code }. A connection waiting in a backlog just waits, up to timeoutMs.
 */
export function probe(target, timeoutMs = 10_000, { withBody = false } = {}) {
  return new Promise((resolve) => {
    const req = http.request({ path: '/', ...target, method: 'GET', agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      if (withBody) res.setEncoding('utf8').on('data', (d) => (body += d));
      else res.resume();
      res.on('end', () => resolve(withBody ? { status: res.statusCode, body } : { status: res.statusCode }));
      res.on('error', () => resolve({ status: res.statusCode }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (err) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

/**
 * GET until a 200, every intervalMs after a failed attempt; bounded by maxAttempts and deadlineMs.
 * Resolves { ok, at (performance.now() of the 200), attempts, lastError }.
 */
export async function pollUntil200(target, { intervalMs = 2, maxAttempts = 5000, deadlineMs = 15_000 } = {}) {
  const deadline = now() + deadlineMs;
  let last = null;
  for (let attempts = 1; attempts <= maxAttempts; attempts++) {
    const r = await probe(target, Math.max(1, deadline - now()));
    if (r.status === 200) return { ok: true, at: now(), attempts, lastError: null };
    last = r.error ?? `HTTP ${r.status}`;
    if (now() >= deadline) return { ok: false, at: now(), attempts, lastError: last };
    await sleep(intervalMs);
  }
  return { ok: false, at: now(), attempts: maxAttempts, lastError: last };
}

/**
 * One new TCP connection + `GET /` with Connection: close, on a raw socket. Resolves
 * { ok, status, error, t0, t1 } (performance.now() times); bounded by timeoutMs.
 */
export function rawGet(port, timeoutMs = 10_000) {
  return new Promise((resolve) => {
    const t0 = now();
    let buf = '';
    let done = false;
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ t0, t1: now(), ...r });
    };
    const sock = net.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => finish({ ok: false, status: null, error: 'TIMEOUT' }), timeoutMs);
    sock.setNoDelay(true);
    sock.on('connect', () => sock.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
    sock.setEncoding('latin1');
    sock.on('data', (d) => {
      buf += d;
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf);
      // the whole hello body has arrived (or the server closes: see 'end')
      if (m && buf.includes('\r\n\r\n') && buf.endsWith('ok\n')) finish({ ok: m[1] === '200', status: Number(m[1]), error: null });
    });
    sock.on('end', () => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf);
      finish(m ? { ok: m[1] === '200', status: Number(m[1]), error: null } : { ok: false, status: null, error: 'EMPTY_REPLY' });
    });
    sock.on('error', (err) => finish({ ok: false, status: null, error: err.code ?? err.message }));
  });
}

/** GET until a 200 (bounded); resolves the elapsed ms or throws */
export async function waitServing(port, { timeoutMs = 20_000 } = {}) {
  const t0 = now();
  while (now() - t0 < timeoutMs) {
    const r = await rawGet(port, Math.max(100, timeoutMs - (now() - t0)));
    if (r.ok) return now() - t0;
    await sleep(20);
  }
  throw new Error(`port ${port} not serving 200 within ${timeoutMs} ms`);
}

// ---- wrk ----------------------------------------------------------------------------------------

const toMs = (v, unit) => Number(v) * ({ us: 0.001, ms: 1, s: 1000, m: 60_000 }[unit] ?? NaN);

/** Parse wrk's text output (with --latency). */
export function parseWrk(text) {
  const lat = /Latency\s+([\d.]+)(us|ms|s|m)\s+([\d.]+)(us|ms|s|m)\s+([\d.]+)(us|ms|s|m)/.exec(text);
  const dist = {};
  for (const m of text.matchAll(/^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$/gm)) dist[`p${m[1]}`] = round(toMs(m[2], m[3]), 3);
  const reqs = /(\d+) requests in ([\d.]+)(ms|s|m)/.exec(text);
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  return {
    rps: rps ? Number(rps[1]) : null,
    requests: reqs ? Number(reqs[1]) : null,
    seconds: reqs ? toMs(reqs[2], reqs[3]) / 1000 : null,
    latencyMs: { avg: lat ? round(toMs(lat[1], lat[2]), 3) : null, stdev: lat ? round(toMs(lat[3], lat[4]), 3) : null, max: lat ? round(toMs(lat[5], lat[6]), 3) : null, ...dist },
    socketErrors: se ? { connect: Number(se[1]), read: Number(se[2]), write: Number(se[3]), timeout: Number(se[4]) } : { connect: 0, read: 0, write: 0, timeout: 0 },
    non2xx: non2xx ? Number(non2xx[1]) : 0,
  };
}

/** Run wrk (bounded: killed by pid after duration + 30 s); resolves { raw, ...parsed }. */
export function runWrk(url, { threads = 2, connections = 32, seconds = 10 } = {}) {
  let pid = null;
  const p = new Promise((resolve, reject) => {
    const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--latency', url];
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    if (!child.pid) return reject(new Error('wrk did not start'));
    pid = child.pid;
    track(child.pid, 'wrk');
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    const t = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(t);
      untrack(child.pid);
      if (code !== 0) return reject(new Error(`wrk exited ${code ?? signal}: ${err}${out}`));
      resolve({ args: ['wrk', ...args].join(' '), raw: out, ...parseWrk(out) });
    });
  });
  p.pid = pid;
  return p;
}

/** established connections on a local TCP port, counted per owning pid (from `ss -tnp`) */
export function connectionsByPid(port) {
  const r = spawnSync('ss', ['-Htnp', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8', timeout: 5000 });
  const counts = {};
  for (const line of (r.stdout ?? '').split('\n')) {
    const m = /pid=(\d+)/.exec(line);
    if (m) counts[m[1]] = (counts[m[1]] ?? 0) + 1;
  }
  return counts;
}
