// `emperor top`: a live terminal view in the spirit of uwsgitop, reading the state file read-only
// every second (readStatus): vassals, their workers, requests/s from counter deltas, latency
// and RSS. Quits on `q`, Ctrl-C or SIGINT/SIGTERM; without a TTY it prints one snapshot and exits.
// Text from the state (errors carry a vassal's words, e.g. its load error) is printed escaped.
import { EXIT } from '../../shared/errors.js';
import { FAILING_STATES, STATE_TONE, type StateTone } from '../../shared/names.js';
import type { StatusDocument, VassalRecord } from '../../shared/types.js';
import { RateWindow, RequestTotals, rateWindowMs, workerSums } from '../decide/index.js';
import { readStatus, readStatusOrSay } from './status.js';
import { escapeControls } from '../os/index.js';

export interface TopOptions {
  intervalMs?: number;
}

type Sort = 'name' | 'rps' | 'rss';
const SORTS: Sort[] = ['name', 'rps', 'rss'];

/** ANSI colour of each state's tone (the dashboard page draws the same tones) */
const TONE_ANSI: Record<StateTone, string> = { ok: '32', info: '36', warn: '33', bad: '31', idle: '35', off: '90' };

function bytes(n: number): string {
  if (!n) return '-';
  return n < 1048576 ? `${(n / 1024).toFixed(0)} KB` : n < 1073741824 ? `${(n / 1048576).toFixed(1)} MB` : `${(n / 1073741824).toFixed(2)} GB`;
}
const ms = (n: number): string => (n ? `${n < 10 ? n.toFixed(1) : Math.round(n)}ms` : '-');
function dur(iso: string | null): string {
  if (!iso) return '-';
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

/** Rates between refreshes: one RateWindow per vassal over monotonic totals. */
export class Rates {
  readonly totals = new RequestTotals();
  readonly windows = new Map<string, RateWindow>();

  update(doc: StatusDocument, now: number): void {
    for (const r of doc.vassals) {
      this.totals.observe(r);
      let w = this.windows.get(r.name);
      if (!w) this.windows.set(r.name, (w = new RateWindow(5 * 60_000)));
      w.push(now, this.totals.total(r.name));
    }
  }

  /** null until there are two samples */
  rate(r: VassalRecord): number | null {
    const w = this.windows.get(r.name);
    return w ? w.rate(rateWindowMs(r)) : null;
  }
}

interface Screen {
  colour: boolean;
  columns: number;
  rows: number;
  sort: Sort;
}

const COLS = ['NAME', 'STATE', 'PID', 'W', 'REQ/S', 'REQUESTS', 'INFL', 'AVG', 'P99', 'RSS', 'RESTARTS', 'UPTIME'];
const WIDTHS = [18, 10, 8, 3, 8, 10, 6, 8, 8, 10, 9, 9];

function cells(values: string[]): string {
  return values.map((v, i) => (i === values.length - 1 ? v : v.length >= WIDTHS[i]! ? `${v.slice(0, WIDTHS[i]! - 1)} ` : v.padEnd(WIDTHS[i]!))).join('');
}

/** The whole screen as lines (plain text; `colour` adds ANSI SGR codes). */
export function renderTop(doc: StatusDocument, rates: Rates | null, s: Screen): string[] {
  const paint = (code: string, text: string): string => (s.colour ? `\x1b[${code}m${text}\x1b[0m` : text);
  const e = doc.emperor;
  const out: string[] = [];
  const when = new Date().toTimeString().slice(0, 8);
  out.push(
    paint('1', 'emperor') +
      (e.running ? `  running, pid ${e.pid}, up ${dur(e.startedAt)}` : `  NOT RUNNING${e.stoppedAt ? ` (stopped ${e.stoppedAt})` : ''}`) +
      (e.vassalsDir ? `  ${escapeControls(e.vassalsDir)}` : '') +
      `  ${when}`,
  );
  const vassals = [...doc.vassals];
  const rps = (r: VassalRecord): number => rates?.rate(r) ?? 0;
  if (s.sort === 'name') vassals.sort((a, b) => a.name.localeCompare(b.name));
  else if (s.sort === 'rps') vassals.sort((a, b) => rps(b) - rps(a) || a.name.localeCompare(b.name));
  else vassals.sort((a, b) => workerSums(b).rss - workerSums(a).rss || a.name.localeCompare(b.name));
  const ready = vassals.filter((v) => v.state === 'ready').length;
  const failing = vassals.filter((v) => FAILING_STATES.includes(v.state)).length;
  const totalRps = rates ? vassals.reduce((n, v) => n + rps(v), 0).toFixed(1) : '-';
  const totalRss = vassals.reduce((n, v) => n + workerSums(v).rss, 0);
  out.push(`vassals ${vassals.length}  ready ${ready}  failing ${failing}  req/s ${totalRps}  rss ${bytes(totalRss)}   [q] quit  [s] sort: ${s.sort}`);
  out.push('');
  out.push(s.colour ? paint('7', cells(COLS).padEnd(s.columns)) : cells(COLS));
  for (const v of vassals) {
    const w = workerSums(v);
    const rate = rates?.rate(v);
    const row = cells([
      escapeControls(v.name),
      v.state,
      v.pid === null ? '-' : String(v.pid),
      String(v.pids.length),
      rate === null || rate === undefined ? '-' : rate.toFixed(1),
      String(w.requests),
      String(w.inFlight),
      ms(w.avgMs),
      ms(w.p99Ms),
      bytes(w.rss),
      String(v.restarts),
      v.pid === null ? '-' : dur(v.startedAt),
    ]);
    const state = v.state.padEnd(WIDTHS[1]!);
    out.push(s.colour ? row.replace(state, paint(TONE_ANSI[STATE_TONE[v.state]] ?? '0', state)) : row);
    v.workers.forEach((wk, i) => {
      const st = wk.stats;
      const branch = i === v.workers.length - 1 ? '└' : '├';
      out.push(
        paint(
          '2',
          `  ${branch} pid ${wk.pid}  gen ${wk.generation}  ${wk.ready ? 'ready' : 'starting'}  up ${dur(wk.startedAt)}` +
            (st ? `  req ${st.requests}  infl ${st.inFlight}  avg ${ms(st.avgMs)}  p99 ${ms(st.p99Ms)}  rss ${bytes(st.rss)}` : '  (no stats yet)'),
        ),
      );
    });
    if (v.error) out.push(paint('31', `  ! ${escapeControls(v.error.split('\n')[0]!)}`));
  }
  if (vassals.length === 0) out.push('  (no vassals)');
  return out;
}

function fit(lines: string[], s: Screen): string {
  const cut = lines.slice(0, Math.max(1, s.rows - 1));
  // ANSI codes make the visible width shorter than .length: cut plain lines only
  return cut.map((l) => (l.includes('\x1b') ? l : l.slice(0, s.columns))).join('\x1b[K\n') + '\x1b[K';
}

export async function runTop(statePath: string, opts: TopOptions = {}): Promise<number> {
  const interval = Math.max(100, opts.intervalMs ?? 1000);
  const first = readStatusOrSay('top', statePath);
  if (!first) return EXIT.INVALID;
  let doc: StatusDocument = first;
  const out = process.stdout;
  if (!out.isTTY) {
    out.write(renderTop(doc, null, { colour: false, columns: 200, rows: Infinity, sort: 'name' }).join('\n') + '\n');
    return EXIT.OK;
  }
  const rates = new Rates();
  const screen: Screen = { colour: true, columns: out.columns || 100, rows: out.rows || 40, sort: 'name' };
  let lastError: string | null = null;
  const draw = (): void => {
    screen.columns = out.columns || 100;
    screen.rows = out.rows || 40;
    const lines = renderTop(doc, rates, screen);
    if (lastError) lines.splice(1, 0, `\x1b[31m(state unreadable: ${escapeControls(lastError)}; showing the last good read)\x1b[0m`);
    out.write(`\x1b[H${fit(lines, screen)}\x1b[J`);
  };
  const refresh = (): void => {
    try {
      doc = readStatus(statePath);
      lastError = null;
    } catch (err) {
      lastError = (err as Error).message;
    }
    rates.update(doc, Date.now());
    draw();
  };
  out.write('\x1b[?1049h\x1b[?25l'); // alternate screen, hide the cursor
  return new Promise<number>((resolve) => {
    const stdin = process.stdin;
    const timer = setInterval(refresh, interval);
    const quit = (): void => {
      clearInterval(timer);
      process.off('SIGINT', quit);
      process.off('SIGTERM', quit);
      out.off('resize', draw);
      if (stdin.isTTY) stdin.setRawMode(false);
      stdin.off('data', onKey);
      stdin.pause();
      out.write('\x1b[?25h\x1b[?1049l');
      resolve(EXIT.OK);
    };
    const onKey = (data: Buffer): void => {
      const key = data.toString('utf8');
      if (key === 'q' || key === 'Q' || key === '\x03' || key === '\x04') return quit();
      if (key === 's') {
        screen.sort = SORTS[(SORTS.indexOf(screen.sort) + 1) % SORTS.length]!;
        draw();
      }
    };
    if (stdin.isTTY) stdin.setRawMode(true);
    stdin.on('data', onKey);
    stdin.resume();
    process.on('SIGINT', quit);
    process.on('SIGTERM', quit);
    out.on('resize', draw);
    refresh();
  });
}
