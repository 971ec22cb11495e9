// `emperor upgrade`: asks the running emperor over its control socket for a new brain from the
// code now on disk; the keeper starts it, the old brain answers once it hands over, and this
// client then waits until the state names the new brain (it has adopted every copy). It never
// signals or touches a process itself.
import { EXIT } from '../../shared/errors.js';
import { sendControl } from '../control/index.js';
import { processStartTime } from '../os/index.js';
import { statusDocument } from './status.js';

export async function upgradeEmperor(statePath: string, timeoutS: number): Promise<number> {
  const before = (() => {
    try {
      return statusDocument(statePath).emperor.brainPid ?? null;
    } catch {
      return null;
    }
  })();
  const deadline = Date.now() + timeoutS * 1000;
  const r = await sendControl(statePath, 'upgrade', '', timeoutS * 1000);
  if (!r.ok) {
    console.error(`emperor upgrade: ${r.error}`);
    return r.code === 'not-running' ? EXIT.NOT_RUNNING : r.code === 'timeout' ? EXIT.TIMEOUT : EXIT.INVALID;
  }
  // the old brain handed over: the new one is adopting; done once the state names it
  while (Date.now() < deadline) {
    try {
      const doc = statusDocument(statePath);
      const now = doc.emperor.brainPid;
      if (doc.emperor.running && now && now !== before && processStartTime(now) !== null) {
        console.log(`upgraded: brain ${before ?? '?'} -> ${now}; the keeper (pid ${doc.emperor.pid}) kept every socket and copy (${doc.vassals.length} vassals)`);
        return EXIT.OK;
      }
    } catch {
      /* the state is being handed over: read again */
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  console.error(`emperor upgrade: the new brain did not take over within ${timeoutS} s (the emperor's log says why)`);
  return EXIT.TIMEOUT;
}
