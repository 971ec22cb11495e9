// bench/bare-server.mjs — the "bare" baseline: `node bench/bare-server.mjs APP ADDRESS` imports
// the same request listener a vassal serves and listens on ADDRESS itself (host:port or a Unix
// socket path), with no emperor. With an IPC channel it reports {type:'listening'} once.
// BARE_EXIT_AFTER_LISTEN=1 exits as soon as it listens (to measure the CPU of one bare start).
import http from 'node:http';
import { pathToFileURL } from 'node:url';

const [app, address] = process.argv.slice(2);
if (!app || !address) {
  process.stderr.write('usage: node bench/bare-server.mjs APP HOST:PORT|/path.sock\n');
  process.exit(2);
}
const { default: handler } = await import(pathToFileURL(app).href);
const server = http.createServer(handler);
const at = address.startsWith('/') ? { path: address } : { host: address.slice(0, address.lastIndexOf(':')), port: Number(address.slice(address.lastIndexOf(':') + 1)) };
server.listen(at, () => {
  // started with an IPC channel (the startup-anatomy trials): say so, like a worker's 'ready'
  if (process.send) process.send({ type: 'listening', pid: process.pid }, () => process.disconnect());
  if (process.env.BARE_EXIT_AFTER_LISTEN === '1') server.close(() => process.exit(0));
});
