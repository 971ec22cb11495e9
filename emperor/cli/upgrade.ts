// `emperor upgrade`: asks the running emperor over its control socket for a new brain from the
// code now on disk; the keeper starts it, the old brain answers once it hands over, and this
// client then waits until the state names a brain started since the request. It never signals
// or touches a process itself.
import { EXIT } from '../../shared/errors.js';
import { exitCodeOf, sendControl } from '../control/index.js';
import { processStartTime } from '../os/index.js';
import { statusDocument } from './status.js';

export async function upgradeEmperor(statePath: string, timeoutS: number): Promise<number> {
  const asked = Date.now();
  const deadline = asked + timeoutS * 1000;
  const r = await sendControl(statePath, 'upgrade', '', timeoutS * 1000);
  if (!r.ok) {
    console.error(`emperor upgrade: ${r.error}`);
    return exitCodeOf(r);
  }
  // the old brain handed over: done once the state names a live brain started since the request
  while (Date.now() < deadline) {
    try {
      const e = statusDocument(statePath).emperor;
      if (e.running && e.brainPid && e.brainStartedAt && Date.parse(e.brainStartedAt) >= asked && processStartTime(e.brainPid) !== null) {
        console.log(`upgraded: ${r.message}: brain ${e.brainPid} runs the code on disk; the keeper (pid ${e.pid}) kept every socket and copy`);
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
