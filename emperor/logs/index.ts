// logs/: each vassal's captured output on disk — writing, rotating, sweeping (write.ts) and the
// line format and tails (read.ts). The daemon writes through it, the CLI and dashboard read; it
// must not read the state file nor decide anything about a vassal.
export { attachLogStore, flushLogs, REMOVED_LOG_RETENTION_MS } from './write.js';
export { LOG_MAX_BYTES, logDir, logFile, openForReading, readEnd, readTail } from './read.js';
