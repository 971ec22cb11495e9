// A short-lived helper of the emperor (spawn.ts flushStraySweep): finds every process whose
// environment carries one of the given copy marks (VASSAL_COPY_ID=MARK: descendants of a copy
// that has exited, which left its process group) and SIGKILLs it, printing each pid it ended.
// It runs apart from the emperor because reading /proc/PID/environ can block; the emperor ends
// it after a deadline. It reads nothing else and writes only pids to stdout.
import fs from 'node:fs';

const COPY_MARK = 'VASSAL_COPY_ID';
const marks = new Set(process.argv.slice(2).map((m) => `${COPY_MARK}=${m}`));
const self = process.pid;
const parent = process.ppid;

for (const d of fs.readdirSync('/proc')) {
  if (!/^\d+$/.test(d)) continue;
  const pid = Number(d);
  if (pid === self || pid === parent) continue;
  let environ: string;
  try {
    environ = fs.readFileSync(`/proc/${d}/environ`, 'latin1');
  } catch {
    continue; // gone, or a kernel thread
  }
  if (!environ.includes(`${COPY_MARK}=`)) continue;
  if (!environ.split('\0').some((kv) => marks.has(kv))) continue;
  try {
    process.kill(pid, 'SIGKILL');
    process.stdout.write(`${pid}\n`);
  } catch {
    /* already gone */
  }
}
