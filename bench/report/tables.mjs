// bench/report/tables.mjs — every generated table: its name (the `<!-- bench:NAME -->` marker),
// the result file(s) it is drawn from, and how its rows are rendered. Pure: result JSON in,
// markdown out (or { skip: why }).
import { caption, full, fullOf, load, mean, median, ms, num, s, span, SYSTEM_TITLES, table, yesNo } from './format.mjs';

function killLoopTable(j) {
  const names = Object.keys(j.summary ?? {});
  if (!names.length) return { skip: 'kill-loop.json has no system' };
  const col = (f) => names.map((n) => f(j.summary[n]));
  const range = (x) => {
    const ok = x.servedAgainMs.filter((v) => v !== null);
    return `${num(Math.min(...ok), 0)}–${x.worstMs === null ? 'down' : num(x.worstMs, 0)} ms, ${num(x.medianMs, 0)} ms`;
  };
  return table(
    [`kill -9 → served again (${j.rounds} rounds)`, ...names.map((n) => SYSTEM_TITLES[n] ?? n)],
    [
      ['range, median', ...col(range)],
      ['÷ the adjacent bare starts: median, worst round', ...col((x) => `${num(x.medianRatio, 2)}x, ${num(x.worstRatio, 2)}x`)],
      [`rounds within 1.2x (target: all ${j.rounds})`, ...col((x) => String(x.roundsWithin1_2x))],
      ['requests never answered (a client sends another every 20 ms while one waits)', ...col((x) => String(x.lostRequests))],
    ],
  );
}

/** the vassal column as the docs name them (the script's own labels are its console's) */
const ADAPTIVE_LABELS = {
  fixed1: '`processes = 1`',
  fixed4: '`processes = 4`',
  adapt3: '`processes = 1-4`, `scale-up-after = 3` (default)',
  adapt1: '`processes = 1-4`, `scale-up-after = 1`',
};

function adaptiveTable(j) {
  const by = Object.fromEntries(j.results.map((r) => [r.variant, r]));
  // the goals are ratios within the run: p99 against a fixed 4's, idle RSS against a fixed 1's
  const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${num(a / b, 2)}x` : 'n/a');
  return table(
    ['vassal', 'p99 whole burst', 'p99 first / second half', 'p99 ÷ fixed 4: whole / second half', 'req/s', 'failed requests', '`wrk` responses over 2 s', 'workers reached', 'idle RSS', 'idle RSS ÷ fixed 1'],
    j.results.map((r) => [
      ADAPTIVE_LABELS[r.variant] ?? r.label,
      ms(r.burst.p99Ms),
      `${num(r.halves[0].p99Ms, 0)} / ${ms(r.halves[1].p99Ms)}`,
      `${ratio(r.burst.p99Ms, by.fixed4?.burst.p99Ms)} / ${ratio(r.halves[1].p99Ms, by.fixed4?.halves[1].p99Ms)}`,
      num(r.burst.rps, 0),
      String(r.burst.errors),
      String(r.burst.wrkTimeouts),
      String(r.workersDuringBurst.max),
      `${num(r.idleRssAfterMB, 1)} MB`,
      ratio(r.idleRssAfterMB, by.fixed1?.idleRssAfterMB),
    ]),
  );
}

function scaleTable(j) {
  return table(
    ['vassals', 'drop → all 200', 'bare burst', 'emperor CPU in the drop', 'emperor VmRSS / Pss idle', 'forge VmRSS', 'idle CPU emperor / workers', 'WebSocket snapshot', 'load at its start'],
    j.rows.map((r) =>
      r.failed
        ? [String(r.count), `failed: ${r.failed}`, '', '', '', '', '', '', '']
        : [String(r.count), s(r.allAnsweredMs), r.bareAllAnsweredMs === null ? 'not run' : s(r.bareAllAnsweredMs), s(r.emperorCpuDropMs, 2), `${num(r.emperorRssMb)} / ${num(r.emperorPssMb)} MB${r.brainRssMb ? ` (keeper ${num(r.keeperRssMb)}, brain ${num(r.brainRssMb)})` : ''}`, r.forgeRssMb === null ? 'exited (idle)' : `${num(r.forgeRssMb)} MB`, `${num(r.idleEmperorPct, 2)} / ${num(r.idleWorkersPct, 2)} %`, `${ms(r.snapshotMedianMs, 1)} (${num(r.snapshotBytes / 1024, 0)} KB)`, load(r.load)],
    ),
  );
}

/** keeper.json: idle cost of keeper + brain (+ forge) beside the previous build, brain kills, upgrade */
function keeperTable(j) {
  const c = j.current;
  const b = j.baseline;
  const mem = (r) => (r ? `${num(r.rssMb)} / ${num(r.pssMb)} MB` : 'absent');
  const sumPss = (x) => (x ? num((x.idle.emperor?.pssMb ?? 0) + (x.idle.forge?.pssMb ?? 0)) + ' MB' : 'not run');
  const sumRss = (x) => (x ? num((x.idle.emperor?.rssMb ?? 0) + (x.idle.forge?.rssMb ?? 0)) + ' MB' : 'not run');
  const forge = (x) => (x ? (x.idle.forge ? `${mem(x.idle.forge)} (alive in ${x.idle.forge.present} samples)` : 'exited (idle)') : 'not run');
  const cpu = (x) => (x ? `${num(x.idle.cpuPct.keeper, 2)} / ${num(x.idle.cpuPct.brain, 2)} / ${num(x.idle.cpuPct.forge, 2)} %` : 'not run');
  const ld = (x) => (x ? `${load(x.loadAtDrop)} / ${load(x.idle.load)}` : '');
  const idle = table(
    [`${j.count} idle app vassals`, 'keeper + brain (this build)', 'previous build (one emperor process)'],
    [
      ['drop all → every one answers 200', s(c.dropToAll200Ms), b ? s(b.dropToAll200Ms) : 'not run'],
      ['emperor VmRSS / Pss (keeper + brain; previous: the emperor)', mem(c.idle.emperor), b ? mem(b.idle.emperor) : 'not run'],
      ['keeper VmRSS / Pss', mem(c.idle.keeper), '—'],
      ['brain VmRSS / Pss', mem(c.idle.brain), '—'],
      ['forge VmRSS / Pss', forge(c), forge(b)],
      ['emperor + forge VmRSS (shared pages counted twice)', sumRss(c), sumRss(b)],
      ['emperor + forge Pss', sumPss(c), sumPss(b)],
      ['idle CPU, % of a core: keeper / brain / forge (previous: emperor / — / forge)', cpu(c), cpu(b)],
      ['load average at the drop / in the idle window', ld(c), ld(b)],
    ],
  );
  const kills = (c.brainKills ?? []).map((r) => [
    `kill -9 brain, round ${r.round}`,
    r.ok ? ms(r.adoptedMs) : `not adopted in 60 s`,
    r.copiesSame && r.statusPidsSame ? 'yes' : 'no',
    `${r.requests.failed} / ${r.requests.ok + r.requests.failed}`,
    load(r.load),
  ]);
  const u = c.upgrade;
  if (u) kills.push(['`emperor upgrade` (exit 0)', u.code === 0 ? ms(u.exitMs) : `exit ${u.code ?? u.signal}`, u.copiesSame ? 'yes' : 'no', `${u.requests.failed} / ${u.requests.ok + u.requests.failed}`, load(u.load)]);
  const adopt = table(['event', 'new brain live, every vassal ready (upgrade: command exits)', 'copies unchanged (same pids)', `failed requests (client loop over ${10} vassals)`, 'load'], kills);
  return `${idle}\n\n${adopt}`;
}

/** a phase median from drop-to-200's / removal's breakdown, by the start of its label */
const phase = (breakdown, start) => Object.entries(breakdown ?? {}).find(([k]) => k.startsWith(start))?.[1]?.p50 ?? null;

/**
 * The Core table: drop-to-200.json (write → first 200 beside a bare start), removal.json (unlink →
 * process gone) and many-vassals.json (N dropped at once beside N bare starts, the orchestrator's
 * memory and idle CPU, removal of all, stop). Targets: issue 13's goals.
 */
function coreTable({ 'drop-to-200': d, removal: r, 'many-vassals': m }) {
  const b = d.breakdownMs;
  const e = m.emperor.memory.afterIdle;
  const forge = m.forge.memory.afterIdle;
  const forgeRss = forge?.rssMb ?? null;
  const orchRss = (e.rssMb ?? 0) + (forgeRss ?? 0);
  const burstRatio = m.bareBurst?.allAnsweredMs && m.allAnsweredMs ? m.allAnsweredMs / m.bareBurst.allAnsweredMs : null;
  const idle = m.idle.second ?? m.idle;
  const orchCpu = (idle.emperorCpuPct ?? 0) + (idle.forgeCpuPct ?? 0);
  const treeCpu = orchCpu + (idle.allVassalsCpuPct ?? 0);
  const survivors = m.stop.survivors?.length ?? 0;
  return table(
    ['figure', 'measured', 'target', 'met'],
    [
      [`write a config → first HTTP 200, p50 / p95 (n=${d.emperor.n})`, `${num(d.emperor.p50)} / ${ms(d.emperor.p95, 1)}`, '', ''],
      ['the same app started bare with `node` beside it, p50 / p95', `${num(d.bare.p50)} / ${ms(d.bare.p95, 1)}`, '', ''],
      ['ratio of p50s; median of the adjacent pairs\' ratios', `${num(d.ratioP50, 2)}x; ${num(d.pairedRatioP50, 2)}x`, `≤ ${d.target.ratioP50}x`, yesNo(d.ratioP50 <= d.target.ratioP50)],
      [`phases, medians of ${d.breakdownTrials} trials: write→added / added→spawned / spawned→ready / ready→200`, `${num(phase(b, 'write -> added'))} / ${num(phase(b, 'added -> spawned'))} / ${num(phase(b, 'spawned -> ready'))} / ${ms(phase(b, 'ready -> first 200'), 1)}`, '', ''],
      [`remove a file → its idle vassal's process gone, p50 / p95 (n=${r.removal.n})`, `${num(r.removal.p50)} / ${ms(r.removal.p95, 1)}`, '≤ 20 ms p50', yesNo(r.removal.p50 <= 20)],
      [`${m.count} app vassals dropped at once → all answer 200, beside ${m.count} bare \`node\` apps started at once`, `${s(m.allAnsweredMs)} vs ${m.bareBurst ? s(m.bareBurst.allAnsweredMs) : 'not run'} (${burstRatio === null ? 'n/a' : `${num(burstRatio, 2)}x`})`, '≤ 1.2x the bare burst', yesNo(burstRatio === null ? null : burstRatio <= 1.2)],
      [`orchestrator VmRSS / Pss with ${m.count} idle vassals: keeper + brain (+ forge while it lives)`, `${num(e.rssMb)} / ${num(e.pssMb)} MB (keeper ${num(e.keeper?.rssMb)}, brain ${num(e.brain?.rssMb)}; forge ${forgeRss === null ? 'exited (idle)' : `${num(forgeRss)} MB`})`, '≤ 60 MB VmRSS', yesNo(orchRss <= 60)],
      [`idle CPU with ${m.count} vassals, orchestrator / whole tree (workers too), ${num(idle.seconds, 0)} s window after a first ${num(m.idle.seconds, 0)} s`, `${num(orchCpu, 2)} / ${num(treeCpu, 2)} % of a core (keeper ${num(idle.keeperCpuPct, 2)}, brain ${num(idle.brainCpuPct, 2)})`, '≤ 0.2 % / ≤ 3 %', `${yesNo(orchCpu <= 0.2)} / ${yesNo(treeCpu <= 3)}`],
      [`remove all ${m.count} files → every process gone; the emperor's SIGTERM → exit`, `${s(m.removal.allGoneMs, 2)}${m.removal.left ? ` (${m.removal.left} left)` : ''}; ${s(m.stop.ms, 2)}, ${survivors ? `${survivors} process(es) left` : 'nothing left'}`, '', ''],
    ],
  );
}

/** log-flood.json: what one vassal printing as fast as it can (`yes`) costs the orchestrator */
function logFloodTable(j) {
  return table(
    [`a \`yes\` vassal, ${num(j.seconds, 0)} s measured`, 'measured'],
    [
      ['orchestrator CPU, % of a core: keeper + brain (keeper / brain)', `${num(j.emperorCpuPercent)} % (${num(j.keeperCpuPercent)} / ${num(j.brainCpuPercent)} %)`],
      ['lines re-emitted to the emperor\'s log per second (the output limit)', num(j.reemittedLinesPerSecond, 0)],
      ['lines read and dropped per second', num(j.droppedLinesPerSecond, 0)],
      ['the emperor\'s own stdout', `${num(j.emperorStdoutBytesPerSecond / 1024)} KiB/s`],
    ],
  );
}

/**
 * The App server table, from the five compare-*.json of full runs: req/s and p99 beside a bare
 * node:cluster (compare-throughput), the same workers with no manager (compare-tail), reloads
 * under keep-alive load (compare-reload), a kill -9 of the only copy (compare-kill), and idle
 * memory per app (compare-memory), each system beside the others in the same script's run.
 * Targets: issue 13's goals.
 */
function appServerTable({ 'compare-throughput': t, 'compare-tail': tail, 'compare-reload': r, 'compare-kill': k, 'compare-memory': m }) {
  const SYSTEMS = ['emperor', 'pm2', 'uwsgi'];
  const notRun = (j, n) => (j.skipped?.[n] ? 'not run' : '—');
  const per = (j, f) => SYSTEMS.map((n) => (j.systems?.[n] ? f(j.systems[n]) : notRun(j, n)));
  const rounds = t.perRound?.length ?? t.summary.emperorRps.length;
  const eRps = mean(t.summary.emperorRps);
  const bRps = mean(t.summary.bareRrRps);
  const p99E = median(t.summary.emperorP99Ms);
  const p99B = median(t.summary.bareRrP99Ms);
  const p99Ratio = p99E !== null && p99B ? p99E / p99B : null;
  const tailOf = (v) => ms(tail.summary?.[v]?.medianP99Ms, 1);
  const reloads = (x) => x.reloadsCompletedPerReloadRun;
  const eReload = r.systems?.emperor?.summary;
  const eKill = k.systems?.emperor;
  const killCell = (x) => `${span(x.summary.servedAgainMs, ' ms', 0)} (median ${num(x.summary.servedAgainMedianMs, 0)}) / ${x.summary.refused.reduce((a, b) => a + b, 0)} / ${x.summary.lostInFlight.reduce((a, b) => a + b, 0)}`;
  const second = (x) => (x.summary.quickSecondKillServedAgainMs === null ? 'not run' : `${ms(x.summary.quickSecondKillServedAgainMs)} / ${x.summary.quickSecondKillRefused}`);
  const memCell = (x) => `${num(x.perAppMB.pss)} / ${num(x.perAppMB.rss)} MB (${num(x.perAppIncludingManagerShareMB.pss)} MB)`;
  // PM2 and uWSGI in the throughput run (a result from before they were measured there: 'not measured')
  const peer = (n, f) => (t.summary[`${n}Rps`] ? f(n) : t.peers?.skipped?.[n] ? 'not run' : 'not measured');
  const peerRps = ['pm2', 'uwsgi'].map((n) => peer(n, () => `${num(mean(t.summary[`${n}Rps`]), 0)} (${num(t.summary[`${n}RatioOfMeansVsRr`], 2)}x)${n === 'uwsgi' ? ', a connection per request' : ''}`));
  const peerP99 = ['pm2', 'uwsgi'].map((n) => peer(n, () => { const p = median(t.summary[`${n}P99Ms`]); return `${ms(p, 1)} (${p99B ? `${num(p / p99B, 2)}x` : 'n/a'})`; }));
  return table(
    ['figure', 'emperor', 'PM2', 'uWSGI Emperor', 'bare reference in the same run', 'target', 'met'],
    [
      [`hello world, \`processes = 2\`, \`wrk -t2 -c${t.connections ?? 32}\`, ${rounds} rounds: req/s (÷ node:cluster)`, `${num(eRps, 0)} (${num(t.summary.ratioOfMeansVsRr, 2)}x)`, ...peerRps, `node:cluster ${num(bRps, 0)}`, '≥ 1.0x node:cluster', yesNo(t.summary.ratioOfMeansVsRr >= 1)],
      ['p99 in the same runs, median of the rounds (÷ node:cluster)', `${ms(p99E, 1)} (${p99Ratio === null ? 'n/a' : `${num(p99Ratio, 2)}x`})`, ...peerP99, `node:cluster ${ms(p99B, 1)}`, '≤ 1.1x', yesNo(p99Ratio === null ? null : p99Ratio <= 1.1)],
      ['p99 of two workers sharing one socket with no manager at all (`compare-tail.mjs`), each in its own session / both in one', `the emperor's worker: ${tailOf('emperor-worker/own-session')} / ${tailOf('emperor-worker/one-session')}`, '', '', `\`node:http\`: ${tailOf('plain/own-session')} / ${tailOf('plain/one-session')}`, '', ''],
      [`reloads under 32 keep-alive connections (${span(eReload ? reloads(r.systems.emperor) : [], '', 0)} per run): failed requests`, ...per(r, (x) => x.summary.failedDuringReloads.join(', ')), '', '0', yesNo(eReload ? eReload.failedDuringReloads.every((x) => x === 0) : null)],
      ['p99 during the reloads ÷ p99 of a steady run beside it', ...per(r, (x) => span(x.summary.p99Ratio, 'x', 2)), '', '≤ 1.5x', yesNo(eReload ? eReload.p99Ratio.every((x) => x <= 1.5) : null)],
      [`kill -9 of the only copy of a worker up over 30 s, a new connection every 5 ms: served again after / connections refused / requests lost in flight`, ...per(k, killCell), '', '0 refused', yesNo(eKill ? eKill.summary.refused.every((x) => x === 0) : null)],
      ['a second kill 3 s after the respawn: served again after / refused', ...per(k, second), '', '', ''],
      [`${m.systems?.emperor?.apps ?? ''} idle apps: Pss / RSS per app (with 1/N of the manager's Pss)`, ...per(m, memCell), m.systems?.bare ? `bare \`node\`: ${memCell(m.systems.bare)}` : 'not run', '', ''],
    ],
  );
}

/** ondemand.json: the first request to an idle on-demand vassal, and what idle ones cost the emperor */
function ondemandTable(j) {
  const l = j.latency;
  const m = j.memory;
  return table(
    ['figure', 'measured'],
    [
      [`first request to an idle on-demand vassal (no process yet): p50 / p95 (n=${l.onDemandFirstMs.n})`, `${num(l.onDemandFirstMs.p50)} / ${ms(l.onDemandFirstMs.p95, 1)}`],
      ['the next request to it (its worker up), p50 / p95', `${num(l.onDemandSecondMs.p50)} / ${ms(l.onDemandSecondMs.p95, 1)}`],
      [`a request to a running vassal, interleaved, p50 / p95 (n=${l.runningMs.n})`, `${num(l.runningMs.p50)} / ${ms(l.runningMs.p95, 1)}`],
      [`the emperor's VmRSS (keeper + brain) with no vassal / ${m.vassals} idle on-demand vassals (medians of 5 samples)`, `${num(m.zero.emperor.medianMB)} / ${num(m.many.emperor.medianMB)} MB: ${num(m.perVassalKb, 0)} kB each`],
    ],
  );
}

/** dashboard-fanout.json: every event to every WebSocket client while vassals are added, touched, removed */
function dashboardTable(j) {
  return table(
    ['run', 'clients, vassals', 'events, received by every client', 'clients with a gap / out of order / closed early', 'event → every client p50 / p95 / p99 / max', 'brain event-loop delay p99 / max: add · reload · remove', 'emperor VmRSS before / after'],
    j.runs.map((r, i) => {
      const L = r.latency?.toEveryClientMs;
      const e = r.events;
      // the script's own 2 ms monitor in the brain, one reading per window (preloadEld[0]: before the first)
      const eld = (r.windows ?? [])
        .map((w, k) => [w.name, r.preloadEld?.[k + 1]])
        .filter(([name, x]) => x && ['add', 'reload', 'remove'].includes(name))
        .map(([, x]) => `${num(x.p99, 0)} / ${num(x.max, 0)}`);
      return [
        String(i + 1),
        `${j.options.clients}, ${j.options.count}`,
        e ? `${e.expected}, ${e.receivedByEveryClient}` : `error: ${(r.errors ?? []).join('; ')}`,
        e ? `${e.clientsWithGaps} / ${e.clientsOutOfOrderOrDupes} / ${e.clientsClosedEarly}` : '',
        L ? `${num(L.p50)} / ${num(L.p95)} / ${num(L.p99)} / ${ms(L.max)}` : 'n/a',
        eld.length ? `${eld.join(' · ')} ms` : 'not measured (--no-preload)',
        `${num(r.memBefore?.rssMb)} / ${num(r.memAfter?.rssMb)} MB`,
      ];
    }),
  );
}

/** chaos.json (short forms) or chaos-long.json (long forms): the rows chaos.mjs rendered for each scenario */
const chaosTable = (form) => (j) => {
  const has = j.form ?? (j.long ? 'long' : 'short');
  if (has !== form) return { skip: `its result holds the ${has} forms, not the ${form} ones` };
  return table(
    ['scenario', 'load held', 'faults injected', 'failed requests', 'orphans', 'convergence time', 'memory growth'],
    Object.entries(j.results).map(([name, r]) => (r.row ? [name, ...r.row] : [name, `error: ${r.error.split('\n')[0]}`, '', '', '', '', ''])),
  );
};

function quickRunTable(get) {
  const run = get('run');
  if (!run) return { skip: 'no bench/results/run.json' };
  if (!run.quick) return { skip: 'bench/results/run.json is from a full run' };
  const rows = run.scripts.map((x) => [`\`${x.name}.mjs\``, x.code === 0 ? 'ok' : `exit ${x.code}`, `${num(x.seconds, 0)} s`, x.headline ?? '']);
  const body = table(['script', 'exit', 'took', 'headline figure (small sizes: a smoke test, not figures to compare)'], rows);
  return { body: `${body}\n\nWhole run: ${num(run.seconds, 0)} s. ${caption(run, 'run')}` };
}

/**
 * The side-by-side table: issue 13's rows, each with bare `node` (or node:cluster), the uWSGI
 * Emperor, PM2 and the emperor from the same script's run: compare-fleet (add, remove, a fleet at
 * once, the orchestrator's memory, idle CPU, the whole tree's Pss), compare-reload, kill-loop and
 * compare-throughput. Each goal is the issue's; "met" reads the emperor's figure against it.
 */
function sideBySideTable({ 'compare-fleet': f, 'compare-reload': r, 'kill-loop': k, 'compare-throughput': t }) {
  const COLS = ['bare', 'uwsgi', 'pm2', 'emperor'];
  const fs_ = f.systems ?? {};
  const cell = (n, fn) => (fs_[n] ? fn(fs_[n]) : f.skipped?.[n] ? 'not run' : '—');
  const fleetRow = (fn) => COLS.map((n) => cell(n, fn));
  const x = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : null);
  const E = fs_.emperor;
  const B = fs_.bare;
  const N = f.apps;
  // each manager's adds against the bare starts taken beside them (a result without those: the bare system's own trials)
  const addRef = (y) => y.lifecycle.adjacentBareAdd?.p50 ?? B?.lifecycle.add.p50;
  const addCell = (y) => (y === B ? ms(y.lifecycle.add.p50) : `${ms(y.lifecycle.add.p50)} (${num(x(y.lifecycle.add.p50, addRef(y)), 2)}x${y.lifecycle.adjacentBareAdd ? ` the bare starts beside it, ${ms(addRef(y))}` : ' bare'})`);
  const addRatio = E ? x(E.lifecycle.add.p50, addRef(E)) : null;
  const dropRatio = E && B ? x(E.fleet.allAnsweredMs, B.fleet.allAnsweredMs) : null;
  const orch = (y) => `${num(y.fleet.orchestrator.rssMb)} MB (${num(y.fleet.orchestrator.pssMb)})`;
  const eIdle = E?.fleet.idle;
  const reload = (n) => {
    const y = r.systems?.[n]?.summary;
    if (!y) return r.skipped?.[n] ? 'not run' : '—';
    return `${y.failedDuringReloads.reduce((a, b) => a + b, 0)} / ${ms(median(y.p99ReloadMs), 1)} vs ${ms(median(y.p99SteadyMs), 1)} (${span(y.p99Ratio, 'x', 2)})`;
  };
  const eR = r.systems?.emperor?.summary;
  const kill = (n) => {
    const y = k.summary?.[n];
    if (!y) return k.skipped?.[n] ? 'not run' : '—';
    const ok = y.servedAgainMs.filter((v) => v !== null);
    return `${num(Math.min(...ok), 0)}–${y.worstMs === null ? 'down' : num(y.worstMs, 0)} ms (${num(y.medianRatio, 2)}x bare), ${y.roundsWithin1_2x}/${k.rounds} within 1.2x, ${y.lostRequests} never answered`;
  };
  const eK = k.summary?.emperor;
  const sp = k.summary?.['emperor-spare'];
  const ts = t.summary;
  const tput = (n) => (ts[`${n}Rps`] ? `${num(mean(ts[`${n}Rps`]) / 1000, 1)}k (${num(n === 'emperor' ? ts.ratioOfMeansVsRr : ts[`${n}RatioOfMeansVsRr`], 2)}x), p99 ${ms(median(ts[`${n}P99Ms`]), 1)}${n === 'uwsgi' ? '; a connection per request' : ''}` : t.peers?.skipped?.[n] ? 'not run' : 'not measured');
  const p99E = median(ts.emperorP99Ms);
  const p99B = median(ts.bareRrP99Ms);
  const tRatio = ts.ratioOfMeansVsRr;
  return table(
    ['figure', 'bare', 'uWSGI Emperor', 'PM2', 'emperor', 'goal', 'met'],
    [
      [`add an app → first 200, p50 (n=${f.trials})`, ...fleetRow(addCell), '≤ 1.05x bare node', yesNo(addRatio === null ? null : addRatio <= 1.05)],
      [`remove it → its processes gone, p50 (n=${f.trials})`, ...fleetRow((y) => ms(y.lifecycle.remove.p50, 1)), '≤ 20 ms', yesNo(E ? E.lifecycle.remove.p50 <= 20 : null)],
      [`${median(r.systems?.emperor?.reloadsCompletedPerReloadRun ?? []) ?? 5} reloads under 32 keep-alive connections, ${r.systems?.emperor?.summary.failedDuringReloads.length ?? ''} runs: failed / p99 vs steady (ratio)`, '—', reload('uwsgi'), reload('pm2'), reload('emperor'), '0 / ≤ 1.5x steady', yesNo(eR ? eR.failedDuringReloads.every((v) => v === 0) && eR.p99Ratio.every((v) => v <= 1.5) : null)],
      [`kill -9 of the only copy after 2 s served, ${k.rounds} rounds: served again`, `bare start ${span(k.bareMs ?? [], ' ms', 0)}`, kill('uwsgi'), kill('pm2'), `${kill('emperor')}${sp ? `; \`spare = true\`: ${num(Math.min(...sp.servedAgainMs), 0)}–${num(sp.worstMs, 0)} ms, ${sp.roundsWithin1_2x}/${k.rounds}, ${sp.lostRequests}` : ''}`, '≤ 1.2x bare start every round, 0 refused', eK ? `${yesNo(eK.roundsWithin1_2x === k.rounds && eK.lostRequests === 0)}${sp ? ` (spare: ${yesNo(sp.roundsWithin1_2x === k.rounds && sp.lostRequests === 0)})` : ''}` : 'n/a'],
      [`${N} apps started at once → all 200`, ...fleetRow((y) => (y.fleet.allAnsweredMs === null ? `${y.fleet.answered}/${N} answered` : s(y.fleet.allAnsweredMs))).map((c, i) => (i === 3 && dropRatio !== null ? `${c} (${num(dropRatio, 2)}x bare)` : c)), '≤ 1.2x the bare burst', yesNo(dropRatio === null ? null : dropRatio <= 1.2)],
      [`orchestrator VmRSS (Pss) with ${N} idle apps`, '—', ...['uwsgi', 'pm2', 'emperor'].map((n) => cell(n, orch)), '≤ 60 MB', yesNo(E ? E.fleet.orchestrator.rssMb <= 60 : null)],
      [`idle CPU with ${N} apps, orchestrator / whole tree (% of a core, ${num(f.idleS, 0)} s window${f.settleS ? ` after ${num(f.settleS, 0)} s` : ''})`, ...fleetRow((y) => `${num(y.fleet.idle.orchestratorPct, 2)} / ${num(y.fleet.idle.treePct, 2)} %`).map((c, i) => (i === 0 ? c.replace(/^[^/]*\/ /, '— / ') : c)), '≤ 0.2 % / ≤ 3 %', eIdle ? `${yesNo(eIdle.orchestratorPct <= 0.2)} / ${yesNo(eIdle.treePct <= 3)}` : 'n/a'],
      [`total Pss with ${N} idle apps (orchestrator + every app process)`, ...fleetRow((y) => `${num(y.fleet.tree.pssMb, 0)} MB`), `≤ ${6 * N} MB (6 MB an app)`, yesNo(E ? E.fleet.tree.pssMb <= 6 * N : null)],
      [`hello req/s, 2 workers, \`wrk -t2 -c${t.connections ?? 32}\` (÷ node:cluster), p99`, `node:cluster ${num(mean(ts.bareRrRps) / 1000, 1)}k, p99 ${ms(p99B, 1)}`, tput('uwsgi'), tput('pm2'), `${tput('emperor')}${p99B ? ` (${num(p99E / p99B, 2)}x)` : ''}`, '≥ 1.0x node:cluster, p99 ≤ 1.1x', `${yesNo(tRatio >= 1)} / ${yesNo(p99B ? p99E / p99B <= 1.1 : null)}`],
    ],
  );
}

/** every marked table name -> (get: name -> result JSON or null) -> { body } | { skip: why } */
export const TABLES = {
  'quick-run': quickRunTable,
  'kill-loop': full('kill-loop', killLoopTable),
  'adaptive-burst': full('adaptive-burst', adaptiveTable),
  scale: full('scale', scaleTable),
  keeper: full('keeper', keeperTable),
  'chaos-short': full('chaos', chaosTable('short')),
  'chaos-long': full('chaos-long', chaosTable('long')),
  core: fullOf(['drop-to-200', 'removal', 'many-vassals'], coreTable),
  'log-flood': full('log-flood', logFloodTable),
  ondemand: full('ondemand', ondemandTable),
  'dashboard-fanout': full('dashboard-fanout', dashboardTable),
  'side-by-side': fullOf(['compare-fleet', 'compare-reload', 'kill-loop', 'compare-throughput'], sideBySideTable),
  'app-server': fullOf(['compare-throughput', 'compare-tail', 'compare-reload', 'compare-kill', 'compare-memory'], appServerTable),
};

