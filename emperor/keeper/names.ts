// The environment names by which a keeper tells the process it forks that it is its brain. Kept
// apart (no imports) so the CLI learns which role it has before it loads either.

/** set in the brain's environment: the CLI's `run` runs the brain, not another keeper */
export const BRAIN_ENV = 'EMPEROR_BRAIN';
/** set (to `standby`) for an upgrade's new brain: it loads, says so, and waits for `go` */
export const BRAIN_MODE_ENV = 'EMPEROR_BRAIN_MODE';
/** node flags for the brain only (e.g. `--max-old-space-size=512`, `--cpu-prof`): never a vassal's */
export const BRAIN_NODE_OPTIONS_ENV = 'EMPEROR_BRAIN_NODE_OPTIONS';
