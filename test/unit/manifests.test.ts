// The container artefacts agree with each other and with the emperor (SPEC §8): every YAML
// document under deploy/kubernetes parses and has the kinds we ship; workloads mount the ConfigMap
// at /etc/emperor/vassals.d and state at /var/lib/emperor, probe with `emperor status --health`,
// give a grace period above the largest `mercy`; the ConfigMap's vassals pass the real config
// loader; the Dockerfile is multi-stage with tini as PID 1, the same paths and a --health
// HEALTHCHECK. No cluster and no Docker engine needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { loadVassalFile, vassalNameOf } from '../../emperor/config/index.js';
import { ROOT } from '../helpers/emperor.js';

const K8S = path.join(ROOT, 'deploy', 'kubernetes');
const VASSALS_DIR = '/etc/emperor/vassals.d';
const STATE_DIR = '/var/lib/emperor';
const STATE = `${STATE_DIR}/emperor.db`;
const DEFAULT_MERCY = 10;
/** seconds the emperor needs beyond the largest mercy to finish its own shutdown */
const GRACE_MARGIN = 5;

// ---- loading -----------------------------------------------------------------------------------

/* eslint-disable @typescript-eslint/no-explicit-any */
type Obj = Record<string, any>;

interface Doc {
  file: string;
  obj: Obj;
}

function yamlFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(d.name) ? [p] : [];
  });
}

function loadDocs(): Doc[] {
  const docs: Doc[] = [];
  for (const file of yamlFiles(K8S)) {
    for (const d of YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
      assert.deepEqual(d.errors.map(String), [], `${file} parses`);
      const obj = d.toJS() as Obj | null;
      if (obj !== null) docs.push({ file: path.relative(ROOT, file), obj });
    }
  }
  return docs;
}

const docs = loadDocs();
const ofKind = (kind: string): Doc[] => docs.filter((d) => d.obj.kind === kind);
const workloads = docs.filter((d) => d.obj.kind === 'Deployment' || d.obj.kind === 'DaemonSet');
const configMaps = ofKind('ConfigMap');

/** the keys of an INI vassal's [vassal] section (last value wins; enough for these checks) */
function iniKeys(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith(';') || line.startsWith('#')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) section = s[1]!;
    else if (section === 'vassal' && line.includes('=')) out[line.slice(0, line.indexOf('=')).trim()] = line.slice(line.indexOf('=') + 1).trim();
  }
  return out;
}

/** every vassal file of every ConfigMap: name -> its [vassal] keys */
function vassalKeys(): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const cm of configMaps)
    for (const [key, value] of Object.entries((cm.obj.data ?? {}) as Record<string, string>)) {
      if (key.endsWith('.json')) out.set(key, Object.fromEntries(Object.entries((JSON.parse(value) as Obj).vassal ?? {}).map(([k, v]) => [k, String(v)])));
      else out.set(key, iniKeys(value));
    }
  return out;
}

const probeCommand = (probe: Obj | undefined): string => (probe?.exec?.command ?? []).join(' ');

// ---- Kubernetes --------------------------------------------------------------------------------

test('deploy/kubernetes: every document parses, with the kinds we ship and a name', () => {
  assert.ok(docs.length >= 4, `documents found: ${docs.length}`);
  for (const { file, obj } of docs) {
    assert.equal(typeof obj.apiVersion, 'string', `${file}: apiVersion`);
    assert.ok(['ConfigMap', 'Service', 'Deployment', 'DaemonSet'].includes(obj.kind), `${file}: unexpected kind ${obj.kind}`);
    assert.equal(typeof obj.metadata?.name, 'string', `${file}: metadata.name`);
  }
  const kinds = new Set(docs.map((d) => d.obj.kind));
  for (const k of ['Deployment', 'DaemonSet', 'ConfigMap', 'Service']) assert.ok(kinds.has(k), `a ${k} is shipped`);
  for (const w of workloads) assert.equal(w.obj.apiVersion, 'apps/v1', `${w.file}: apps/v1`);
  assert.ok(fs.existsSync(path.join(K8S, 'README.md')), 'deploy/kubernetes/README.md');
});

test('deploy/kubernetes: the ConfigMap holds valid vassal files that the real loader accepts', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emperor-manifests-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  let count = 0;
  for (const cm of configMaps) {
    assert.equal(cm.obj.binaryData, undefined, `${cm.file}: text vassals only`);
    for (const [key, value] of Object.entries((cm.obj.data ?? {}) as Record<string, string>)) {
      const file = path.join(dir, key);
      assert.ok(vassalNameOf(file), `${cm.file}: data key ${key} is a vassal file name (NAME.ini or NAME.json)`);
      fs.writeFileSync(file, value);
      const r = loadVassalFile(file);
      assert.ok(r.ok, `${cm.file}: ${key} is valid: ${r.ok ? '' : JSON.stringify(r.errors)}`);
      // the app lives in the image under /app: it must be a file of this repository the image copies
      if (r.ok && r.config.app?.startsWith('/app/')) assert.ok(fs.existsSync(path.join(ROOT, r.config.app.slice('/app/'.length))), `${key}: ${r.config.app} is in the image`);
      count++;
    }
  }
  assert.ok(count >= 1, 'at least one vassal');
});

test('deploy/kubernetes: workloads mount the ConfigMap at /etc/emperor/vassals.d and state at /var/lib/emperor', () => {
  const cmNames = new Set(configMaps.map((c) => c.obj.metadata.name as string));
  for (const { file, obj } of workloads) {
    const spec = obj.spec.template.spec as Obj;
    const labels = obj.spec.template.metadata.labels as Record<string, string>;
    for (const [k, v] of Object.entries(obj.spec.selector.matchLabels as Record<string, string>)) assert.equal(labels[k], v, `${file}: selector matches the pod labels`);
    const volumes = new Map<string, Obj>((spec.volumes as Obj[]).map((v) => [v.name as string, v]));
    assert.equal(spec.containers.length, 1, `${file}: one container (one emperor per pod)`);
    const c = spec.containers[0] as Obj;
    const mounts = c.volumeMounts as Obj[];
    const vassals = mounts.find((m) => m.mountPath === VASSALS_DIR);
    assert.ok(vassals, `${file}: a mount at ${VASSALS_DIR}`);
    assert.equal(vassals.subPath, undefined, `${file}: no subPath on the vassals mount (subPath mounts never get ConfigMap updates)`);
    assert.ok(cmNames.has(volumes.get(vassals.name)?.configMap?.name), `${file}: ${VASSALS_DIR} is the shipped ConfigMap`);
    const state = mounts.find((m) => m.mountPath === STATE_DIR);
    assert.ok(state, `${file}: a mount at ${STATE_DIR}`);
    assert.ok(volumes.get(state.name)?.emptyDir !== undefined, `${file}: ${STATE_DIR} is an emptyDir`);
    assert.ok(!state.readOnly, `${file}: the state mount is writable`);
    // if the args are spelled out they name the same paths (else the image's CMD does)
    if (c.args) {
      const args = (c.args as string[]).join(' ');
      assert.match(args, new RegExp(`--vassals ${VASSALS_DIR}( |$)`), `${file}: args --vassals`);
      assert.match(args, new RegExp(`--state ${STATE}( |$)`), `${file}: args --state`);
      const dash = /--dashboard (\S+)/.exec(args)?.[1];
      if (dash && dash !== 'off' && !/^(127\.0\.0\.1|\[::1\]|localhost):/.test(dash)) assert.match(args + JSON.stringify(c.env ?? []), /dashboard-token|EMPEROR_DASHBOARD_TOKEN/, `${file}: a non-loopback dashboard needs a token`);
    }
    assert.equal(c.command, undefined, `${file}: keeps the image's ENTRYPOINT (tini as PID 1)`);
  }
});

test('deploy/kubernetes: liveness and readiness probes run `emperor status --health` on the state file', () => {
  for (const { file, obj } of workloads) {
    const c = obj.spec.template.spec.containers[0] as Obj;
    for (const kind of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      const probe = c[kind] as Obj | undefined;
      if (kind === 'startupProbe' && !probe) continue;
      assert.ok(probe, `${file}: ${kind}`);
      assert.equal(probeCommand(probe), `emperor status --health --state ${STATE}`, `${file}: ${kind} command`);
      assert.ok((probe.timeoutSeconds ?? 1) >= 3, `${file}: ${kind} timeoutSeconds leaves node time to start`);
    }
  }
});

test('deploy/kubernetes: terminationGracePeriodSeconds exceeds the largest mercy by the shutdown margin', () => {
  const mercies = [...vassalKeys().values()].map((k) => Number(k.mercy ?? DEFAULT_MERCY));
  const mercy = Math.max(DEFAULT_MERCY, ...mercies);
  for (const { file, obj } of workloads) {
    const grace = obj.spec.template.spec.terminationGracePeriodSeconds as number | undefined;
    assert.equal(typeof grace, 'number', `${file}: terminationGracePeriodSeconds is set (the default, 30 s, hides the reasoning)`);
    assert.ok(grace! >= mercy, `${file}: grace ${grace} s >= mercy ${mercy} s`);
    assert.ok(grace! >= mercy + GRACE_MARGIN, `${file}: grace ${grace} s >= mercy ${mercy} s + ${GRACE_MARGIN} s`);
  }
});

test('deploy/kubernetes: the Service reaches the port the ConfigMap vassal listens on', () => {
  const ports = [...vassalKeys().values()].map((k) => /:(\d+)$/.exec(k['http-socket'] ?? '')?.[1]).filter(Boolean).map(Number);
  for (const svc of ofKind('Service')) {
    const selector = svc.obj.spec.selector as Record<string, string>;
    for (const { file, obj } of workloads) {
      const labels = obj.spec.template.metadata.labels as Record<string, string>;
      assert.ok(Object.entries(selector).every(([k, v]) => labels[k] === v), `${svc.file} selects the pods of ${file}`);
      const named = new Map(((obj.spec.template.spec.containers[0].ports ?? []) as Obj[]).map((p) => [p.name as string, p.containerPort as number]));
      for (const p of svc.obj.spec.ports as Obj[]) {
        const target = typeof p.targetPort === 'string' ? named.get(p.targetPort) : (p.targetPort ?? p.port);
        assert.ok(target !== undefined, `${file}: has the port ${p.targetPort} the Service targets`);
        assert.ok(ports.includes(target), `${file}: port ${target} is a vassal's http-socket (${ports.join(', ')})`);
      }
    }
  }
});

test('deploy/kubernetes: the emperor keeps root (it drops each vassal itself) with only the capabilities it uses', () => {
  for (const { file, obj } of workloads) {
    const spec = obj.spec.template.spec as Obj;
    const sc = { ...(spec.securityContext ?? {}), ...(spec.containers[0].securityContext ?? {}) } as Obj;
    assert.notEqual(sc.runAsNonRoot, true, `${file}: the emperor needs root to run vassals as their own users`);
    assert.ok(sc.runAsUser === undefined || sc.runAsUser === 0, `${file}: runAsUser 0`);
    if ((sc.capabilities?.drop ?? []).includes('ALL')) for (const cap of ['SETUID', 'SETGID', 'CHOWN', 'KILL']) assert.ok(sc.capabilities.add?.includes(cap), `${file}: capability ${cap}`);
  }
});

// ---- Dockerfile --------------------------------------------------------------------------------

interface Instruction {
  op: string;
  args: string;
  stage: number;
}

/** Dockerfile instructions: comments dropped, `\` continuations joined; stage = index of its FROM */
function dockerfile(): Instruction[] {
  const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const out: Instruction[] = [];
  let pending = '';
  let stage = -1;
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw)) continue;
    const line = pending + raw;
    if (/\\\s*$/.test(line)) {
      pending = line.replace(/\\\s*$/, ' ');
      continue;
    }
    pending = '';
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    if (op === 'FROM') stage++;
    out.push({ op, args: m[2]!.replace(/\s+/g, ' ').trim(), stage });
  }
  return out;
}

const jsonArgs = (i: Instruction | undefined): string[] => {
  assert.ok(i, 'instruction present');
  assert.ok(i.args.startsWith('['), `${i.op} uses the JSON (exec) form: ${i.args}`);
  return JSON.parse(i.args) as string[];
};

test('Dockerfile: multi-stage on a current Node LTS slim image, compilers in the build stage only', () => {
  const ins = dockerfile();
  const froms = ins.filter((i) => i.op === 'FROM');
  assert.ok(froms.length >= 2, `multi-stage: ${froms.length} FROM`);
  const argDefaults = Object.fromEntries(ins.filter((i) => i.op === 'ARG' && i.args.includes('=')).map((i) => i.args.split('=') as [string, string]));
  for (const f of froms) {
    const image = f.args.split(' ')[0]!.replace(/\$\{(\w+)\}/g, (_, v: string) => argDefaults[v] ?? '');
    assert.match(image, /^node:(22|24)-bookworm-slim$/, `base image ${image}`);
  }
  const last = froms.length - 1;
  const run = (stage: number): string => ins.filter((i) => i.stage === stage && i.op === 'RUN').map((i) => i.args).join('\n');
  const build = [...Array(last).keys()].map(run).join('\n');
  assert.match(build, /npm ci/, 'the build stage installs with npm ci');
  assert.match(build, /npm prune --omit=dev/, 'dev dependencies are pruned');
  assert.match(build, /tsc/, 'the build stage compiles the TypeScript');
  assert.match(build, /python3/);
  const runtime = run(last);
  assert.match(runtime, /apt-get install[^\n]*\btini\b/, 'tini in the runtime image');
  assert.match(runtime, /apt-get install[^\n]*\butil-linux\b/, 'util-linux (setpriv) in the runtime image');
  assert.doesNotMatch(runtime, /(^|\s)(g\+\+|gcc|make|python3|build-essential|npm ci|npm install)(\s|$)/m, 'no compiler and no npm install in the runtime stage');
  const copies = ins.filter((i) => i.stage === last && i.op === 'COPY').map((i) => i.args);
  assert.ok(copies.some((c) => /--from=\w+ \S*node_modules/.test(c)), 'production node_modules come from the build stage');
  assert.ok(copies.some((c) => /--from=\w+ \S*dist/.test(c)), 'compiled dist comes from the build stage');
  assert.ok(copies.some((c) => /^examples\b/.test(c)), 'the example apps the ConfigMap points at are in the image');
});

test('Dockerfile: tini ENTRYPOINT, the same paths as the manifests, VOLUME, STOPSIGNAL, --health HEALTHCHECK', () => {
  const ins = dockerfile();
  const lastStage = Math.max(...ins.map((i) => i.stage));
  const final = (op: string): Instruction | undefined => ins.filter((i) => i.op === op && i.stage === lastStage).at(-1);
  const entry = jsonArgs(final('ENTRYPOINT'));
  assert.equal(entry[0], 'tini', 'tini is PID 1');
  const dd = entry.indexOf('--');
  assert.ok(dd > 0, 'tini -- ...');
  const cmd = entry.slice(dd + 1);
  assert.ok(cmd.join(' ') === 'emperor run' || cmd.join(' ') === 'node /app/dist/emperor/cli/index.js run', `tini runs the emperor: ${cmd.join(' ')}`);
  const defaults = jsonArgs(final('CMD')).join(' ');
  assert.match(defaults, new RegExp(`--vassals ${VASSALS_DIR}( |$)`));
  assert.match(defaults, new RegExp(`--state ${STATE}( |$)`));
  assert.match(defaults, /--dashboard 127\.0\.0\.1:\d+/, 'the dashboard is on loopback by default');
  const volume = final('VOLUME')!.args;
  assert.ok(volume === STATE_DIR || JSON.parse(volume.startsWith('[') ? volume : '[]').includes(STATE_DIR), `VOLUME ${STATE_DIR}`);
  assert.equal(final('STOPSIGNAL')?.args, 'SIGTERM');
  const hc = final('HEALTHCHECK')!.args;
  const hcCmd = JSON.parse(hc.slice(hc.indexOf('CMD ') + 4)) as string[];
  assert.equal(hcCmd.join(' '), `emperor status --health --state ${STATE}`, 'the HEALTHCHECK runs what the Kubernetes probes run');
  for (const w of workloads) assert.equal(probeCommand(w.obj.spec.template.spec.containers[0].readinessProbe), hcCmd.join(' '), `${w.file}: same command as the HEALTHCHECK`);
  const all = ins.filter((i) => i.stage === lastStage).map((i) => i.args).join('\n');
  assert.match(all, /mkdir -p[^\n]*\/etc\/emperor\/vassals\.d/);
  assert.match(all, /ln -s \/app\/dist\/emperor\/cli\/index\.js \/usr\/local\/bin\/emperor/, '`emperor` is on the PATH');
});

test('.dockerignore keeps host builds, state and history out of the context', () => {
  const lines = new Set(
    fs
      .readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#')),
  );
  for (const p of ['node_modules', 'dist', '.git', 'test-artifacts', 'bench/results', '*.db']) assert.ok(lines.has(p), `.dockerignore lists ${p}`);
});
