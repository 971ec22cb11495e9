// store/: the state file — the only SQL, its schema and file checks. The daemon writes it, the
// CLI reads it (readState). It must not hold a decision about vassals nor import another
// emperor folder (only shared/).
export { type EmperorRow, Store, readState, schemaRefusal } from './store.js';
