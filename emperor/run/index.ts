// run/: the daemon's running parts — the arbiter (one supervisor per vassal file), signals, the
// directory scanner, touch-reload watches, `emperor serve`. It wires the layers below together;
// it must not decide a vassal's fate itself (supervisor/ and decide/ do) nor be imported below.
export { type ScanEvent, Scanner } from './scanner.js';
export { serveOne } from './serve.js';
export { TouchReload } from './touch-reload.js';
export { Emperor, type RunOptions } from './arbiter.js';
export { Adoption } from './adoption.js';
export { supervisorDeps } from './deps.js';
export { keepRunning, stopOnSignals } from './signals.js';
export { openState } from './state.js';
export { keepOutput, startDashboardIfAsked } from './surfaces.js';
