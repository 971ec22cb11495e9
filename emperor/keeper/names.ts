// The environment names by which a keeper tells the process it forks that it is its brain. Kept
// apart (no imports) so the CLI learns which role it has before it loads either.

/** set in the brain's environment: the CLI's `run` runs the brain, not another keeper */
export const BRAIN_ENV = 'EMPEROR_BRAIN';
/** set (to `standby`) for an upgrade's new brain: it loads, says so, and waits for `go` */
export const BRAIN_MODE_ENV = 'EMPEROR_BRAIN_MODE';
/** node flags for the brain only (e.g. `--max-old-space-size=512`, `--cpu-prof`): never a vassal's */
export const BRAIN_NODE_OPTIONS_ENV = 'EMPEROR_BRAIN_NODE_OPTIONS';
/**
 * set with MALLOC_ARENA_MAX=1 in the brain's environment when the keeper's own has no
 * MALLOC_ARENA_MAX: the brain takes both out of its environment at once (vassals inherit what
 * the emperor was started with). One malloc arena instead of one per thread that allocates
 * (V8's GC and compiler threads, libuv's pool): measured 0.4-0.8 MB less private memory at 100
 * idle vassals.
 */
export const BRAIN_ARENA_ENV = 'EMPEROR_BRAIN_ARENA';
