// The WebSocket side of the dashboard (SPEC §6): a snapshot, then every record change, removal
// and event in bus order; `?since=ID` replays stored events first, without gap or duplicate. A
// slow client is dropped (close 1013), never waited for: the emperor's loop must not stall. Log
// tails (follow-logs) go through one TailQueue, at most one per client in flight: a client that
// asks again before its tail is on the wire has its requests coalesced into the latest.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../../shared/logger.js';
import type { EmperorEvent } from '../../shared/events.js';
import { isVassalName } from '../../shared/names.js';
import type { VassalRecord } from '../../shared/types.js';
import type { VassalLogLine } from '../bus.js';
import { flushLogs, readTail } from '../logs/index.js';
import { WS_PROTOCOL } from './auth.js';
import type { DashboardHost } from './host.js';
import type { HistoryMessage, StatsMessage } from './sampler.js';
import { TailQueue } from './tails.js';

/** above this many bytes queued for one client, it is dropped */
export const MAX_BUFFERED = 4 * 1024 * 1024;
/** at most this many stored events are replayed; older ones are reported as a gap */
export const REPLAY_LIMIT = 5000;
const PING_MS = 30_000;

interface Client {
  ws: WebSocket;
  /** highest event id sent: live events at or below it are duplicates of the replay */
  lastEventId: number;
  /** the vassal whose output lines this client follows */
  followLogs: string | null;
  alive: boolean;
  dead: boolean;
  /** the latest follow-logs request not served yet (older ones are coalesced into it) */
  wantTail: { vassal: string; lines: number } | null;
  /** a tail is queued or being written to this client */
  tailBusy: boolean;
}

export class Hub {
  // a client offering subprotocols (the page: `emperor` and `emperor.token.…`) is answered with the
  // plain one, never the token's: browsers fail an upgrade whose answer names none they offered
  readonly #wss = new WebSocketServer({
    noServer: true,
    maxPayload: 64 * 1024,
    perMessageDeflate: false,
    handleProtocols: (offered) => (offered.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
  });
  readonly #clients = new Set<Client>();
  readonly #ping: NodeJS.Timeout;
  readonly #off: Array<() => void> = [];
  /** every log tail, the WebSocket ones and the HTTP API's, one per turn of the loop */
  readonly tails = new TailQueue();

  constructor(
    readonly host: DashboardHost,
    readonly log: Logger,
    readonly history: () => HistoryMessage,
  ) {
    const on = <K extends 'record' | 'forget' | 'event' | 'log'>(k: K, fn: (...a: never[]) => void): void => {
      host.bus.on(k, fn as never);
      this.#off.push(() => host.bus.off(k, fn as never));
    };
    on('record', (r: VassalRecord) => this.#broadcast(() => JSON.stringify({ type: 'vassal', vassal: r })));
    on('forget', (name: string) => this.#broadcast(() => JSON.stringify({ type: 'removed', name })));
    on('event', (e: EmperorEvent) => this.#onEvent(e));
    on('log', (l: VassalLogLine) => this.#onLog(l));
    this.#ping = setInterval(() => this.#heartbeat(), PING_MS).unref();
  }

  get size(): number {
    return this.#clients.size;
  }

  /** Take over an authorised upgrade request. `since` = null: no replay. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, since: number | null): void {
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#connect(ws, since));
  }

  stats(m: StatsMessage): void {
    this.#broadcast(() => JSON.stringify(m));
  }

  close(): void {
    this.tails.close();
    clearInterval(this.#ping);
    for (const off of this.#off) off();
    for (const c of this.#clients) c.ws.close(1001, 'the emperor is stopping');
    const left = [...this.#clients];
    this.#clients.clear();
    setTimeout(() => left.forEach((c) => c.ws.terminate()), 1000).unref();
    this.#wss.close();
  }

  /**
   * Runs synchronously from the upgrade to the last replayed event: the client is subscribed (in
   * #clients) before the store is read, and no bus event can interleave; lastEventId still dedupes.
   */
  #connect(ws: WebSocket, since: number | null): void {
    const c: Client = { ws, lastEventId: 0, followLogs: null, alive: true, dead: false, wantTail: null, tailBusy: false };
    this.#clients.add(c);
    ws.on('pong', () => (c.alive = true));
    ws.on('close', () => this.#clients.delete(c));
    ws.on('error', () => this.#clients.delete(c));
    ws.on('message', (data, isBinary) => !isBinary && this.#onMessage(c, data.toString()));
    this.#send(c, JSON.stringify({ type: 'snapshot', vassals: this.host.records() }));
    this.#send(c, JSON.stringify(this.history()));
    if (since === null) return;
    let from = since;
    const newest = this.host.store.maxEventId();
    // an id from the future: the state was replaced since the client's last visit; start over
    if (from > newest) from = Math.max(0, newest - REPLAY_LIMIT);
    if (newest - from > REPLAY_LIMIT) {
      this.#send(c, JSON.stringify({ type: 'gap', from: since, to: newest - REPLAY_LIMIT }));
      from = newest - REPLAY_LIMIT;
    }
    for (const e of this.host.store.eventsSince(from, REPLAY_LIMIT)) {
      if (e.id <= c.lastEventId) continue;
      c.lastEventId = e.id;
      this.#send(c, JSON.stringify({ type: 'event', event: e }));
    }
  }

  #onEvent(e: EmperorEvent): void {
    if (this.#clients.size === 0) return;
    const data = JSON.stringify({ type: 'event', event: e });
    for (const c of this.#clients) {
      if (e.id <= c.lastEventId) continue;
      c.lastEventId = e.id;
      this.#send(c, data);
    }
  }

  #onLog(l: VassalLogLine): void {
    let data: string | null = null;
    for (const c of this.#clients) {
      if (c.followLogs !== l.vassal) continue;
      data ??= JSON.stringify({ type: 'log', vassal: l.vassal, ts: l.ts, stream: l.stream, pid: l.pid, line: l.line });
      this.#send(c, data);
    }
  }

  /** Client -> server: `{"type":"follow-logs","vassal":NAME|null,"lines":N}` (the page's log tail). */
  #onMessage(c: Client, text: string): void {
    let m: { type?: unknown; vassal?: unknown; lines?: unknown };
    try {
      m = JSON.parse(text) as typeof m;
    } catch {
      return;
    }
    if (m?.type !== 'follow-logs') return;
    const name = isVassalName(m.vassal) ? m.vassal : null;
    // live lines stop at once; the new vassal's start with its tail (which holds what came meanwhile)
    c.followLogs = null;
    c.wantTail = name === null ? null : { vassal: name, lines: Math.min(2000, Math.max(0, Number(m.lines ?? 200) || 0)) };
    if (c.wantTail && !c.tailBusy) this.#queueTail(c);
  }

  #queueTail(c: Client): void {
    c.tailBusy = true;
    this.tails.push(() => this.#tail(c));
  }

  /** Serve a client's latest follow-logs request: tail, then live lines, in one synchronous run. */
  #tail(c: Client): void {
    const want = c.wantTail;
    c.wantTail = null;
    if (!want || c.dead || c.ws.readyState !== c.ws.OPEN) {
      c.tailBusy = false;
      return;
    }
    // flush, read and subscribe in one synchronous run: no line lost or repeated in between
    flushLogs(this.host.bus);
    let tail: ReturnType<typeof readTail> = [];
    try {
      tail = readTail(this.host.store.path, want.vassal, want.lines);
    } catch (err) {
      this.log.warn({ err, vassal: want.vassal }, 'cannot read stored vassal output');
    }
    c.followLogs = want.vassal;
    // in flight until the tail is handed to the kernel; a request meanwhile waits, coalesced
    this.#send(c, JSON.stringify({ type: 'logs', vassal: want.vassal, lines: tail }), () => {
      c.tailBusy = false;
      if (c.wantTail && !c.dead) this.#queueTail(c);
    });
  }

  /** `data` is serialized only if a client is connected (none: the sampler's every 2 s cost nothing here) */
  #broadcast(data: () => string): void {
    if (this.#clients.size === 0) return;
    const text = data();
    for (const c of this.#clients) this.#send(c, text);
  }

  #send(c: Client, data: string, sent?: () => void): void {
    if (c.dead || c.ws.readyState !== c.ws.OPEN) return;
    if (c.ws.bufferedAmount > MAX_BUFFERED) return this.#drop(c, 'it does not read fast enough');
    c.ws.send(data, sent && (() => sent()));
  }

  #drop(c: Client, why: string): void {
    c.dead = true;
    this.#clients.delete(c);
    this.log.warn({ bufferedAmount: c.ws.bufferedAmount }, `dropping a dashboard client: ${why}`);
    // the close frame waits behind the queued data; a stuck client never reads it, so terminate
    c.ws.close(1013, 'too slow: reconnect with ?since=LAST_EVENT_ID');
    setTimeout(() => c.ws.terminate(), 1000).unref();
  }

  #heartbeat(): void {
    for (const c of this.#clients) {
      if (!c.alive) {
        this.#drop(c, 'it did not answer a ping');
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }
}
