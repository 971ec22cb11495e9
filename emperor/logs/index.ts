// logs/: each vassal's captured output on disk — writing, rotating, sweeping and reading tails.
// The daemon writes through it and the CLI and dashboard read; it must not read the state file
// nor decide anything about a vassal.
export { attachLogStore, flushLogs, readTail } from './write.js';
