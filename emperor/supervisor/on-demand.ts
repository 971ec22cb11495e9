// On-demand vassals (SPEC §2 `on-demand`, `idle`; §4): while such a vassal is not running the
// emperor listens on a DUPLICATE of its socket (sockets.dup), accepts the first connection,
// starts the vassal and relays that connection to the vassal's socket once a copy is ready; later
// clients wait in the backlog of the vassal's own socket. After `idle` seconds without requests the vassal is
// stopped and the waiter armed again. Costs of an idle vassal: its socket and one listener.
import net from 'node:net';
import type { SocketAddress } from '../../shared/types.js';
import type { NativeHandle } from '../os/index.js';

/** Accepts exactly one connection on a duplicate of the vassal's socket, then closes the duplicate. */
export class Waiter {
  #server: net.Server | null = null;
  #closed = false;

  static async arm(dup: () => Promise<NativeHandle>, onFirst: (socket: net.Socket) => void): Promise<Waiter> {
    const w = new Waiter();
    const handle = await dup();
    if (w.#closed) {
      handle.close();
      return w;
    }
    const server = net.createServer({ pauseOnConnect: true });
    server.once('connection', (socket) => {
      w.close(); // only the duplicate: the vassal's socket stays open, later clients queue there
      onFirst(socket);
    });
    server.on('error', () => w.close());
    server.listen(handle as unknown as net.Server);
    w.#server = server;
    return w;
  }

  close(): void {
    this.#closed = true;
    this.#server?.close();
    this.#server = null;
  }
}

/**
 * The first connection goes to the vassal through a relay to its own socket, for app and exec
 * vassals alike (the only connection that passes through the emperor; documented limit). No
 * descriptor is handed over: a worker's channel carries data only (SPEC §4), and passing
 * handles over it is exactly what let a worker plant servers in the emperor's loop.
 */
export function handOver(socket: net.Socket, address: SocketAddress): void {
  const upstream = address.kind === 'unix' ? net.connect(address.path) : net.connect(address.port, connectHost(address.host));
  upstream.on('error', () => socket.destroy());
  socket.on('error', () => upstream.destroy());
  socket.pipe(upstream).pipe(socket);
  socket.resume();
}

/** A wildcard listen address is reached through loopback. */
function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}
