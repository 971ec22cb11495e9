// bench/harness.mjs — the one harness every benchmark script builds on (the door: each part lives
// in bench/harness/): core (paths, --quick arguments, figures, temp dirs, result files), proc
// (/proc sampling), cleanup (every pid ended on exit, error and SIGINT), emperor (start/stop,
// status, events), http (probes, wrk), systems (bare node, node:cluster, PM2, uWSGI) and
// one-worker (the kill benchmarks' systems). bench/README.md lists the API in a few lines.
export * from './harness/core.mjs';
export * from './harness/proc.mjs';
export * from './harness/cleanup.mjs';
export * from './harness/emperor.mjs';
export * from './harness/http.mjs';
export * from './harness/systems.mjs';
export * from './harness/one-worker.mjs';
