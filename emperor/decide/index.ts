// decide/: the pure decisions — restart policy, a copy's command (launch), tyrant mode's rules,
// the vassal environment, request rates. Takes values, returns values: it must not start
// processes, bind sockets or keep a resource (reading one file's owner is the most it does).
export { configEnv, parseEnvNames, setEnvPolicy } from './environment.js';
export { resolveIdentity, resolveSocketOwner } from './identity.js';
export { type Prepared, buildSpawnSpec, hookCommand } from './launch.js';
export { type BackoffState, atCap, delayFor, heartbeatLimitMs, heartbeatPingMs, onCopyExit, onStartFailure } from './policy.js';
export { RateWindow, RequestTotals, rateWindowMs, workerSums } from './rates.js';
export { type Owner, fileOwner, loadForRun } from './tyrant.js';
