// test/e2e/cli-run-path.test.ts — `emperor run` reaches the keeper and its brain without loading
// commander or pino (emperor/cli/index.ts's direct path): a module loader hook (node --import) records
// every module each process of the real CLI loads. Negative control: an unknown option goes
// through commander (usage error), and the same hook sees commander loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, tempDir, waitUntil } from '../helpers/emperor.js';

/** a preload registering a loader hook that appends each loaded URL to DIR/PID.txt */
function writeHook(dir: string): string {
  fs.writeFileSync(path.join(dir, 'hook.mjs'), "import fs from 'node:fs';\nlet file;\nexport function initialize(d) { file = d.file; }\nexport async function load(url, ctx, next) { fs.appendFileSync(file, url + '\\n'); return next(url, ctx); }\n");
  const pre = path.join(dir, 'pre.mjs');
  fs.writeFileSync(pre, `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${dir}/hook.mjs`)}, { data: { file: ${JSON.stringify(dir)} + '/loaded-' + process.pid + '.txt' } });\n`);
  return pre;
}

/** run the CLI under the hook until it exits by itself; each process's loaded modules, by pid */
async function loadedBy(args: string[]): Promise<{ code: number | null; loaded: string[][]; out: string }> {
  const dir = tempDir('emperor-runpath-');
  try {
    const pre = writeHook(dir);
    const child = spawn(process.execPath, ['--import', pre, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, EMPEROR_STATE: path.join(dir, 'e.db') } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    let code: number | null | undefined;
    child.once('exit', (c) => (code = c));
    try {
      await waitUntil(() => code !== undefined, 20_000, 'the CLI to exit by itself');
    } finally {
      if (code === undefined) child.kill('SIGKILL');
    }
    const files = fs.readdirSync(dir).filter((f) => f.startsWith('loaded-'));
    return { code: code ?? null, loaded: files.map((f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean)), out };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const commander = (urls: string[]): boolean => urls.some((u) => u.includes('/node_modules/commander/'));

test('emperor run: the keeper and its brain never load commander; an unknown option (commander) does', async () => {
  // a vassals directory that does not exist: the brain loads everything, fails its first start, and the keeper exits
  const run = await loadedBy(['run', '--vassals', '/nonexistent/emperor-vassals.d', '--dashboard=off', '--log-level', 'warn']);
  assert.notEqual(run.code, 0, run.out);
  const brain = run.loaded.find((urls) => urls.some((u) => u.endsWith('/dist/emperor/main.js')));
  const keeper = run.loaded.find((urls) => urls.some((u) => u.endsWith('/dist/emperor/keeper/run.js')) && !urls.some((u) => u.endsWith('/dist/emperor/main.js')));
  assert.ok(brain && keeper, `a keeper and a brain ran (${run.loaded.length} processes): ${run.out}`);
  assert.equal(commander(keeper), false, 'the keeper did not load commander');
  assert.equal(commander(brain), false, 'the brain did not load commander');
  assert.equal(keeper.some((u) => u === 'node:http'), false, 'the keeper did not load node:http (stats servers are the brain\'s)');
  // both write pino's lines with shared/logger.ts's lean logger (pino costs the brain 2.4 MB of private memory)
  const pino = (urls: string[]): boolean => urls.some((u) => u.includes('/node_modules/pino/'));
  assert.equal(pino(keeper), false, 'the keeper did not load pino');
  assert.equal(pino(brain), false, 'the brain did not load pino');
  assert.match(run.out, /"level":60,"time":"[^"]+","vassals":"[^"]+","msg":"the vassals directory/, 'the brain\'s fatal line, in pino\'s format');

  const usage = await loadedBy(['run', '--vassals', '/nonexistent/emperor-vassals.d', '--bogus']);
  assert.equal(usage.code, 2, usage.out);
  assert.match(usage.out, /unknown option '--bogus'/);
  assert.equal(usage.loaded.length, 1, 'one process: no keeper ran');
  assert.equal(commander(usage.loaded[0]!), true, 'the hook sees commander when it is loaded');
});
