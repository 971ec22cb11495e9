// Real users for the security tests (attacker `ecf-att`, victim `ecf-vic`): created with useradd
// when missing and removed after the file's tests, only if this run created them. No tests here.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export const isRoot = process.geteuid?.() === 0;

function getent(db: 'passwd' | 'group', key: string): string[] | null {
  try {
    return execFileSync('getent', [db, key], { encoding: 'utf8' }).trim().split(':');
  } catch {
    return null;
  }
}

const created: string[] = [];
after(() => {
  for (const name of created.splice(0)) {
    try {
      execFileSync('userdel', [name], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  }
});

/** the user NAME (home /home/NAME, not created; shell /bin/sh), or null when it cannot be made */
export function user(name: 'ecf-att' | 'ecf-vic'): TestUser | null {
  if (!isRoot) return null;
  if (!getent('passwd', name)) {
    try {
      execFileSync('useradd', ['-M', '-U', '-d', `/home/${name}`, '-s', '/bin/sh', name], { stdio: 'ignore' });
      created.push(name);
    } catch {
      return null;
    }
  }
  const f = getent('passwd', name)!;
  return { name, uid: Number(f[2]), gid: Number(f[3]), home: f[5]!, shell: f[6]! };
}

/** a temp dir (o+x, so users reach what is below it), removed after the file's tests */
export function scratch(prefix = 'ecf-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** write a file owned by `u` (mode 0644 unless given) */
export function writeAs(u: TestUser, file: string, text: string, mode = 0o644): string {
  fs.writeFileSync(file, text, { mode });
  fs.chmodSync(file, mode);
  fs.chownSync(file, u.uid, u.gid);
  return file;
}

/** NUL-separated /proc/PID/environ as a map */
export function environOf(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const i = kv.indexOf('=');
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

/** resident set size of a process, in MB */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}
