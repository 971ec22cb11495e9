// bench/compare-cluster-server.mjs — the bare baseline of compare-throughput: `node
// bench/compare-cluster-server.mjs APP HOST:PORT N` runs APP's request listener in N node:cluster
// workers (scheduling as NODE_CLUSTER_SCHED_POLICY says: Node's default on Linux is round-robin,
// the primary accepts and hands connections out). Reports {type:'listening'} over IPC once all N
// listen; SIGTERM/SIGINT stops the workers and exits.
import cluster from 'node:cluster';
import http from 'node:http';
import { pathToFileURL } from 'node:url';

const [app, address, n] = process.argv.slice(2);
const workers = Number(n ?? 2);
if (!app || !address || !(workers >= 1)) {
  process.stderr.write('usage: node bench/compare-cluster-server.mjs APP HOST:PORT N\n');
  process.exit(2);
}
const host = address.slice(0, address.lastIndexOf(':'));
const port = Number(address.slice(address.lastIndexOf(':') + 1));

if (cluster.isPrimary) {
  let listening = 0;
  let stopping = false;
  cluster.on('listening', () => {
    listening++;
    if (listening === workers && process.send) process.send({ type: 'listening', pid: process.pid, workers: Object.values(cluster.workers).map((w) => w.process.pid) });
  });
  cluster.on('exit', (w, code, signal) => {
    if (!stopping) process.stderr.write(`bare cluster: worker ${w.process.pid} exited (${code ?? signal})\n`);
    if (Object.keys(cluster.workers).length === 0 && stopping) process.exit(0);
  });
  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const w of Object.values(cluster.workers)) w.process.kill('SIGKILL');
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  for (let i = 0; i < workers; i++) cluster.fork();
} else {
  const { default: handler } = await import(pathToFileURL(app).href);
  http.createServer(handler).listen({ host, port });
}
