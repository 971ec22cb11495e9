// `emperor upgrade`: the running emperor's keeper starts a new brain from the code now on disk
// (SIGUSR2); it adopts every copy (none restarts) and the old brain exits. This client only
// signals and watches the state file; it never touches a process of the emperor's otherwise.
import { EXIT } from '../../shared/errors.js';
import { processStartTime } from '../os/index.js';
import { statusDocument } from './status.js';

export async function upgradeEmperor(statePath: string, timeoutS: number): Promise<number> {
  const read = () => statusDocument(statePath);
  let doc;
  try {
    doc = read();
  } catch (err) {
    console.error(`emperor upgrade: ${(err as Error).message}`);
    return EXIT.NOT_RUNNING;
  }
  const { pid, brainPid: old } = doc.emperor;
  if (!doc.emperor.running || !pid || !old) {
    console.error(`emperor upgrade: no emperor is running on ${statePath}`);
    return EXIT.NOT_RUNNING;
  }
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + timeoutS * 1000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    try {
      doc = read();
    } catch {
      continue; // the state is being handed over: read again
    }
    const now = doc.emperor.brainPid;
    if (now && now !== old && processStartTime(now) !== null) {
      console.log(`upgraded: brain ${old} -> ${now} (the keeper, pid ${pid}, kept every socket and copy: ${doc.vassals.length} vassals adopted)`);
      return EXIT.OK;
    }
  }
  console.error(`emperor upgrade: the new brain did not take over within ${timeoutS} s; brain ${old} keeps running (the emperor's log says why)`);
  return EXIT.TIMEOUT;
}
