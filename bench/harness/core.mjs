// bench/harness/core.mjs — what every benchmark script shares that touches no process: paths of
// the build under test, the environment note, arguments (with --quick sizes), figures (rounding,
// percentiles), the machine's description, temp dirs and the result files in bench/results/.
// Nothing here starts a process (harness/systems.mjs and harness/emperor.mjs do).
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const BENCH = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const ROOT = path.dirname(BENCH);
/** the emperor under test; BENCH_EMPEROR_CLI points at another build (e.g. a patched copy of dist/) */
export const CLI = process.env.BENCH_EMPEROR_CLI ? path.resolve(process.env.BENCH_EMPEROR_CLI) : path.join(ROOT, 'dist', 'emperor', 'cli', 'index.js');
/** the app server of that build (the CLI is dist/emperor/cli/index.js, the worker dist/vassal/worker.js) */
export const WORKER = path.resolve(path.dirname(CLI), '..', '..', 'vassal', 'worker.js');
export const BARE = path.join(BENCH, 'bare-server.mjs');

/** Throws unless the build under test is there (the scripts run dist/, they build nothing). */
export function requireBuild() {
  for (const file of [CLI, WORKER]) if (!fs.existsSync(file)) throw new Error(`${file} is missing: build first (npx tsc -p tsconfig.json)`);
}
export const RESULTS = path.join(BENCH, 'results');
export const CLK_TCK = 100;

/**
 * NODE_EXTRA_CA_CERTS makes Node 20 parse that bundle at every start (about +50 ms CPU per node
 * process on these machines), which would swamp what the benchmarks compare. It is removed from
 * the environment every process started here inherits (the emperor, hence its vassals, and the
 * bare apps alike), unless BENCH_KEEP_ENV=1.
 */
export const ENV_NOTE =
  process.env.BENCH_KEEP_ENV === '1' || !process.env.NODE_EXTRA_CA_CERTS ? 'environment as given' : 'NODE_EXTRA_CA_CERTS removed from the environment of every process started (BENCH_KEEP_ENV=1 keeps it)';
if (process.env.BENCH_KEEP_ENV !== '1') delete process.env.NODE_EXTRA_CA_CERTS;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const now = () => performance.now();

// ---- arguments ----------------------------------------------------------------------------------

/** true once benchArgs() saw --quick: the result file says so, and the report keeps it apart */
let quick = false;
export const isQuick = () => quick;

/**
 * parseArgs over `options` plus `--quick`. With --quick, every option in `quickValues` that the
 * command line did not set takes its quick value: each script says next to its defaults what a
 * short run of it is (`npm run bench -- --quick` runs them all in a few minutes).
 */
export function benchArgs(options, quickValues = {}) {
  const { values, tokens } = parseArgs({ options: { ...options, quick: { type: 'boolean', default: false } }, tokens: true });
  quick = values.quick;
  if (quick) {
    const given = new Set(tokens.filter((t) => t.kind === 'option').map((t) => t.name));
    for (const [k, v] of Object.entries(quickValues)) if (!given.has(k)) values[k] = v;
  }
  return values;
}

// ---- figures ------------------------------------------------------------------------------------

export const round = (x, d = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);

/** nearest-rank percentile of a list of numbers */
export function pct(values, p) {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))];
}

export function summary(values) {
  const v = values.filter((x) => Number.isFinite(x));
  return { n: v.length, min: round(Math.min(...v)), p50: round(pct(v, 50)), p95: round(pct(v, 95)), max: round(Math.max(...v)), mean: round(v.reduce((a, b) => a + b, 0) / v.length) };
}

export function fmtMs(x) {
  return x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x < 10 ? `${x.toFixed(2)} ms` : `${x.toFixed(0)} ms`;
}

/** ISO time of an emperor log line -> epoch ms */
export const logTime = (rec) => (typeof rec.time === 'string' ? Date.parse(rec.time) : Number(rec.time));

// ---- the machine and the results ----------------------------------------------------------------

/** The machine now: cores, load average, Node, the build under test (one shape for every script). */
export function machine() {
  return {
    cores: os.cpus().length,
    cpus: os.cpus()[0]?.model,
    kernel: os.release(),
    loadavg: os.loadavg().map((x) => round(x, 2)),
    node: process.version,
    at: new Date().toISOString(),
    emperor: CLI,
    build: process.env.BENCH_BUILD_NOTE ?? null,
    env: ENV_NOTE,
    note: '2 cores shared by the load generator, the servers and possibly a concurrent benchmark',
  };
}

const startedAt = machine();

/**
 * Write bench/results/<name>.json. A `run` field is added: when, on how many cores, the load
 * average when the script started and now, and whether it was a --quick run (bench/report.mjs
 * renders README tables only from full runs, and quick runs into their own table).
 */
export function writeResult(name, obj) {
  fs.mkdirSync(RESULTS, { recursive: true });
  const file = path.join(RESULTS, `${name}.json`);
  const end = machine();
  const run = { name, quick, startedAt: startedAt.at, endedAt: end.at, cores: end.cores, node: end.node, loadavgBefore: startedAt.loadavg, loadavgAfter: end.loadavg, argv: process.argv.slice(2) };
  fs.writeFileSync(file, JSON.stringify({ run, ...obj }, null, 2) + '\n');
  return file;
}

// ---- temp dirs, apps, ports ---------------------------------------------------------------------

/** temp dirs to remove once every process is gone (harness/cleanup.mjs removes them) */
export const tempDirs = new Set();

/** A temp dir readable by the vassals (they run as nobody): mkdtemp gives 0700, so chmod 0755. */
export function tempRoot(name) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `emperor-bench-${name}-`));
  fs.chmodSync(dir, 0o755);
  tempDirs.add(dir);
  fs.mkdirSync(path.join(dir, 'vassals.d'), { mode: 0o755 });
  fs.mkdirSync(path.join(dir, 'sock'), { mode: 0o755 });
  return { dir, vassals: path.join(dir, 'vassals.d'), sockDir: path.join(dir, 'sock'), state: path.join(dir, 'state.db') };
}

export function removeDir(dir) {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch {}
  tempDirs.delete(dir);
}

const HELLO_BODY = "  res.writeHead(200, { 'content-type': 'text/plain' });\n  res.end('ok\\n');\n";

/** The app every benchmark serves: a minimal node:http request listener. */
export function writeApp(dir) {
  const app = path.join(dir, 'app.mjs');
  fs.writeFileSync(app, `export default function app(req, res) {\n${HELLO_BODY}}\n`, { mode: 0o644 });
  return app;
}

/** The same hello handler as a CommonJS PM2 cluster app (listens on $PORT). */
export function writePm2App(dir) {
  const file = path.join(dir, 'app.cjs');
  fs.writeFileSync(file, `const http = require('node:http');\nfunction app(req, res) {\n${HELLO_BODY}}\nhttp.createServer(app).listen(Number(process.env.PORT), '127.0.0.1');\n`, { mode: 0o644 });
  return file;
}

/** The hello app as WSGI, for uWSGI (`headers` beyond Content-Type, e.g. Connection: close). */
export function writeWsgiApp(dir, headers = []) {
  const file = path.join(dir, 'app.py');
  const h = [['Content-Type', 'text/plain'], ...headers].map(([k, v]) => `('${k}', '${v}')`).join(', ');
  fs.writeFileSync(file, `def application(environ, start_response):\n    start_response('200 OK', [${h}])\n    return [b'ok\\n']\n`, { mode: 0o644 });
  return file;
}

export function vassalIni(app, socket) {
  return `[vassal]\napp = ${app}\nhttp-socket = ${socket}\n`;
}

/** A free loopback TCP port outside the ephemeral range (client sockets never hold it). */
export async function freePort() {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const ok = await new Promise((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => srv.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port found in 200 tries');
}
