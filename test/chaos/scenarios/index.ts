// The chaos scenarios, one door for bench/chaos.mjs (the tests import each file directly).
export * from './crash-storm.js';
export * from './emperor-kill.js';
export * from './churn.js';
export * from './state-faults.js';
export * from './load-change.js';
export * from './stall.js';
export * from './limits.js';
export * from './soak.js';
export { cleanupList } from '../../helpers/chaos.js';
