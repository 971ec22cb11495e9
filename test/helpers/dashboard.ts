// Test helpers for the dashboard: a WebSocket client that records every message and waits for one
// matching a predicate (with a deadline), the status of a refused upgrade, a small Prometheus text
// parser, and an in-process fake emperor (real Bus and Store, records set by the test).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { pino, type Logger } from 'pino';
import WebSocket from 'ws';
import { Bus } from '../../emperor/bus.js';
import { Store } from '../../emperor/store/store.js';
import type { DashboardHost } from '../../emperor/dashboard/index.js';
import type { ControlResult } from '../../emperor/dashboard/host.js';
import type { VassalRecord, VassalState } from '../../shared/types.js';
import { waitUntil } from './emperor.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Msg = { type: string; [k: string]: any };

export class WsClient {
  readonly messages: Msg[] = [];
  closeCode: number | null = null;
  readonly opened: Promise<void>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => this.messages.push(JSON.parse(d.toString()) as Msg));
    ws.on('close', (code) => (this.closeCode = code));
    ws.on('error', () => {});
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** the first message (after index `from`) satisfying pred */
  next(pred: (m: Msg) => boolean, timeoutMs = 10_000, what = 'a WebSocket message', from = 0): Promise<Msg> {
    return waitUntil(() => this.messages.slice(from).find(pred), timeoutMs, what);
  }

  events(): Array<{ id: number; kind: string; vassal: string | null; detail: Record<string, unknown> }> {
    return this.messages.filter((m) => m.type === 'event').map((m) => m.event);
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Open a client on ws://ADDR/ws(?query); closed when the test ends. */
export async function wsConnect(t: TestContext, address: string, query = '', opts: WebSocket.ClientOptions = {}): Promise<WsClient> {
  const c = new WsClient(new WebSocket(`ws://${address}/ws${query}`, opts));
  t.after(() => c.close());
  await c.opened;
  return c;
}

/** The HTTP status a refused upgrade got (0 if it was accepted: then it is closed at once). */
export function wsRefusal(address: string, query = '', opts: WebSocket.ClientOptions = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${address}/ws${query}`, opts);
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? -1);
      ws.terminate();
    });
    ws.once('open', () => {
      ws.terminate();
      resolve(0);
    });
    ws.once('error', (err) => reject(err));
  });
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Prometheus text format 0.0.4: every line is blank, a comment, or `name{labels} value [ts]`.
 * Values are Go floats (strconv.ParseFloat: NaN and Inf in any case, as prom-client writes `Nan`).
 */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([+-]?(?:[0-9.]+(?:e[+-]?\d+)?|nan|inf))(?: -?\d+)?$/i;
  const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y;
  text.split('\n').forEach((line, i) => {
    if (line === '' || line.startsWith('#')) return;
    const m = LINE.exec(line);
    if (!m) throw new Error(`line ${i + 1} is not Prometheus text: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      LABEL.lastIndex = 0;
      while (LABEL.lastIndex < m[2].length) {
        const l = LABEL.exec(m[2]);
        if (!l) throw new Error(`line ${i + 1}: bad labels ${JSON.stringify(m[2])}`);
        labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      }
    }
    out.push({ name: m[1]!, labels, value: /nan/i.test(m[3]!) ? NaN : /inf/i.test(m[3]!) ? (m[3]!.startsWith('-') ? -Infinity : Infinity) : Number(m[3]) });
  });
  return out;
}

/** pino into an array (to check what reaches the logs, e.g. that the token never does). */
export function memLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) }), lines };
}

export function fakeRecord(name: string, state: VassalState, extra: Partial<VassalRecord> = {}): VassalRecord {
  return {
    name,
    state,
    pid: null,
    pids: [],
    pidStarts: [],
    uid: 65534,
    gid: 65534,
    socket: `unix:/tmp/${name}.sock`,
    restarts: 0,
    startedAt: new Date().toISOString(),
    lastExit: null,
    error: null,
    config: null,
    file: `/etc/emperor/vassals.d/${name}.ini`,
    updatedAt: new Date().toISOString(),
    workers: [],
    ...extra,
  } as VassalRecord;
}

/** An emperor without vassal processes: the bus and store are real, records are what tests set. */
export class FakeEmperor implements DashboardHost {
  readonly bus: Bus;
  readonly store: Store;
  readonly dir: string;
  readonly recs = new Map<string, VassalRecord>();
  readonly controls: Array<[string, string]> = [];

  constructor(t: TestContext) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emperor-dash-'));
    this.store = Store.open(path.join(this.dir, 'emperor.db'), pino({ level: 'silent' }));
    this.bus = new Bus(this.store.maxEventId());
    this.bus.on('event', (e) => this.store.appendEvent(e));
    t.after(() => {
      this.store.close();
      fs.rmSync(this.dir, { recursive: true, force: true });
    });
  }

  records(): VassalRecord[] {
    return [...this.recs.values()];
  }

  set(rec: VassalRecord): void {
    this.recs.set(rec.name, rec);
    this.bus.record(rec);
  }

  forget(name: string): void {
    this.recs.delete(name);
    this.bus.forget(name);
  }

  /** what control() answers for an unknown name (the message is free text: callers go by the code) */
  unknownMessage = (name: string): string => `no vassal "${name}"`;
  stopping = false;

  async control(name: string, action: 'reload' | 'stop' | 'start'): Promise<ControlResult> {
    this.controls.push([name, action]);
    if (!this.recs.has(name)) return { ok: false, code: 'unknown-vassal', error: this.unknownMessage(name) };
    return this.stopping ? { ok: false, code: 'stopping', error: 'the emperor is stopping' } : { ok: true };
  }
}
