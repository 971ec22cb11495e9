// Scenario 3, file churn storm: `names` vassal files under random create / atomic rename / in-place
// write / touch / invalid edit / delete / delete-and-recreate at `rate` operations per second for
// `durationMs`, then quiet. The emperor must converge on the directory's final state: every valid
// file ready and answering with the VALUE written last, every invalid one reported, nothing else
// running, nothing untracked. Figures: operations, time to converge, what was still wrong.
import fs from 'node:fs';
import path from 'node:path';
import { request, startEmperor, waitUntil, type EmperorProc } from '../../helpers/emperor.js';
import { account, asContext, MARK, markedApp, newRun, pause, pick, type Cleanup } from '../../helpers/chaos.js';

export interface ChurnOptions {
  names: number;
  rate: number;
  durationMs: number;
  /** how long convergence is waited for (the goal is 10 s; figures report the real time) */
  convergeWaitMs: number;
}

export type Final = { kind: 'valid'; value: number } | { kind: 'invalid' } | null;

export interface ChurnFigures {
  ops: Record<string, number>;
  /** quiet -> converged (null: not within convergeWaitMs) */
  convergedMs: number | null;
  /** what was still wrong when the wait ended ([] when converged) */
  mismatches: string[];
  finals: { valid: number; invalid: number; absent: number };
}

export const CHURN_SHORT: ChurnOptions = { names: 40, rate: 100, durationMs: 10_000, convergeWaitMs: 20_000 };
export const CHURN_LONG: ChurnOptions = { names: 200, rate: 500, durationMs: 60_000, convergeWaitMs: 120_000 };

export class ChurnDir {
  readonly finals = new Map<string, Final>();
  /** the last operations per name (ms since start, operation), for the report of a mismatch */
  readonly history = new Map<string, string[]>();
  readonly t0 = Date.now();
  #value = 0;
  constructor(
    readonly e: EmperorProc,
    readonly run: string,
  ) {}
  sock(name: string): string {
    return path.join(this.e.dir, 's', `${name}.sock`);
  }
  valid(name: string): { text: string; value: number } {
    const value = ++this.#value;
    return { text: markedApp(this.run, this.sock(name), `env = VALUE=${value}`), value };
  }
  invalid(name: string): string {
    // strict (the default): an unknown key makes the file invalid
    return `[vassal]\napp = /nonexistent.mjs\nhttp-socket = ${this.sock(name)}\nenv = ${MARK}=${this.run}\nno-such-key = ${++this.#value}\n`;
  }
  write(name: string, how: 'in-place' | 'atomic' = 'in-place'): void {
    const { text, value } = this.valid(name);
    const file = this.e.file(`${name}.ini`);
    if (how === 'atomic') {
      fs.writeFileSync(`${file}.tmp`, text);
      fs.renameSync(`${file}.tmp`, file);
    } else fs.writeFileSync(file, text);
    this.finals.set(name, { kind: 'valid', value });
  }
}

const OPS = ['create', 'atomic', 'in-place', 'touch', 'invalid', 'delete', 'delete-recreate'] as const;

function operate(d: ChurnDir, name: string, op: (typeof OPS)[number]): void {
  d.history.set(name, [...(d.history.get(name) ?? []).slice(-5), `${Date.now() - d.t0}:${op}`]);
  const file = d.e.file(`${name}.ini`);
  const exists = fs.existsSync(file);
  switch (op) {
    case 'create':
    case 'in-place':
      return d.write(name, 'in-place');
    case 'atomic':
      return d.write(name, 'atomic');
    case 'touch':
      if (exists) fs.utimesSync(file, new Date(), new Date());
      return;
    case 'invalid':
      fs.writeFileSync(file, d.invalid(name));
      d.finals.set(name, { kind: 'invalid' });
      return;
    case 'delete':
      fs.rmSync(file, { force: true });
      d.finals.set(name, null);
      return;
    case 'delete-recreate':
      fs.rmSync(file, { force: true });
      return d.write(name, 'in-place');
  }
}

/** What differs between the emperor and the directory's final state ([] when converged). */
export async function mismatches(d: ChurnDir): Promise<string[]> {
  const out: string[] = [];
  const doc = d.e.status();
  const acc = account(d.run, doc);
  for (const [name, fin] of d.finals) {
    const v = doc.vassals.find((x) => x.name === name);
    const live = acc.byVassal.get(name) ?? [];
    if (fin === null) {
      if (v) out.push(`${name}: removed, but a record says ${v.state}`);
      if (live.length) out.push(`${name}: removed, but ${live.length} copies alive`);
    } else if (fin.kind === 'invalid') {
      if (!v) out.push(`${name}: invalid file, no record`);
      else if (v.state !== 'invalid' && !v.error) out.push(`${name}: invalid file, but state ${v.state} without an error`);
    } else if (!v || v.state !== 'ready' || v.pids.length !== 1 || live.length !== 1) {
      out.push(`${name}: want ready with 1 copy, have ${v ? `${v.state} pids ${JSON.stringify(v.pids)}` : 'no record'}, ${live.length} alive`);
    }
  }
  for (const p of acc.untracked) out.push(`untracked ${p.pid} (${p.vassal})`);
  if (out.length) return out; // ask the vassals only once the records agree
  for (const [name, fin] of d.finals) {
    if (!fin || fin.kind !== 'valid') continue;
    try {
      const body = JSON.parse((await request({ socketPath: d.sock(name) }, '/', { timeoutMs: 3000 })).body) as { env: Record<string, string> };
      if (body.env.VALUE !== String(fin.value)) out.push(`${name}: answers VALUE=${body.env.VALUE}, file says ${fin.value}`);
    } catch (err) {
      out.push(`${name}: ${(err as Error).message}`);
    }
  }
  return out;
}

export async function churn(c: Cleanup, o: ChurnOptions): Promise<ChurnFigures> {
  const run = newRun(c);
  const e = await startEmperor(asContext(c), { args: ['--log-level', 'info'] });
  fs.mkdirSync(path.join(e.dir, 's'), { mode: 0o755 });
  const d = new ChurnDir(e, run);
  const names = Array.from({ length: o.names }, (_, i) => `c${i}`);
  for (const n of names) d.finals.set(n, null);
  const ops: Record<string, number> = {};
  const t0 = Date.now();
  let done = 0;
  const total = Math.ceil((o.rate * o.durationMs) / 1000);
  while (done < total && Date.now() - t0 < o.durationMs + 5000) {
    const due = Math.min(total, Math.floor(((Date.now() - t0) * o.rate) / 1000));
    for (; done < due; done++) {
      const op = pick(OPS);
      operate(d, pick(names), op);
      ops[op] = (ops[op] ?? 0) + 1;
    }
    await pause(10);
  }
  const quiet = Date.now();
  let last: string[] = [];
  let convergedMs: number | null = null;
  try {
    await waitUntil(async () => (last = await mismatches(d)).length === 0, o.convergeWaitMs, 'convergence', 250);
    convergedMs = Date.now() - quiet;
  } catch {
    convergedMs = null;
  }
  const f = [...d.finals.values()];
  return {
    ops,
    convergedMs,
    mismatches: last.map((m) => `${m} [last ops: ${(d.history.get(m.split(':')[0]!) ?? []).join(' ')}]`),
    finals: { valid: f.filter((x) => x?.kind === 'valid').length, invalid: f.filter((x) => x?.kind === 'invalid').length, absent: f.filter((x) => x === null).length },
  };
}
