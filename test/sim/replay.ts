// Replay one action sequence (JSON, as a failing sim prints it) with the world's step log:
// node dist/test/sim/replay.js '[{"a":"apply","cfg":"A"}, ...]'
import { World, type Action } from './world.js';

if (process.argv[2] === undefined) {
  // also what a test runner that globs every file under test/ runs: nothing to replay
  console.log("usage: node dist/test/sim/replay.js '[{\"a\":\"apply\",\"cfg\":\"A\"}, ...]'");
  process.exit(0);
}
const actions = JSON.parse(process.argv[2]) as Action[];
const w = new World();
try {
  for (const x of actions) {
    w.log.push(`== ${JSON.stringify(x)}`);
    w.act(x);
  }
  w.log.push('== settle');
  w.settle();
  w.checkFinal();
  console.log(w.log.join('\n'));
  console.log('ok');
} catch (err) {
  console.log(w.log.slice(-60).join('\n'));
  console.log(String(err));
  console.log(JSON.stringify({ phase: w.s.phase, want: w.s.want, current: w.s.current?.id, next: w.s.next?.id, copies: w.s.copies, timers: w.s.timers, prep: w.s.prep }, null, 0));
}
