// os/: the system calls — spawning and ending copies, /proc readings, the socket forge and held sockets, user
// lookups, inherited fds, the worker channel, output limits, hook processes, the stats server.
// It must not decide (decide/ does); forge.js and stray-sweeper.js are scripts run by path, not exported.
export { closeInheritedFds } from './fds.js';
export { type HookCommand, type HookResult, hookError, runHook } from './hooks.js';
export { type VassalOutput, escapeControls, vassalOutput } from './output.js';
export { type Identity, type Lookup, type UserEntry, execPrefix, MAX_ID, systemLookup } from './privileges.js';
export { type HeldSocket, type NativeHandle, type Ownership, SocketError, Sockets, socketKey } from './sockets.js';
export { type AdoptableCopy, type CopyListeners, type Host, type SocketHost, type SpawnMeta, localHost } from './host.js';
export { type Copy, type CopyHandle, type SpawnSpec, endLeftover, exitInfo, holdStartSlot, signalGroup, spawnCopy, whenSpawnSlot } from './spawn.js';
export { OutputBudget } from './output.js';
export { EPOLL_WAITS, type LoopIdle, loopIdle, pageSize, parseSyscall } from './loop-idle.js';
export { processStartTime } from './proc-stat.js';
export { flushStraySweep, logStrays } from './strays.js';
export { type StatsServer, startStatsServer, statsAddress } from './stats-server.js';
