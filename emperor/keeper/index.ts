// keeper/: the process `emperor run` is (keeper.ts, run.ts): it holds every listening socket and
// every copy, and runs the brain as its child; and the brain's end of their protocol (link.ts).
// It must not read vassal configs, touch the state file or serve HTTP (the brain does).
export { Keeper } from './keeper.js';
export { runKeeper } from './run.js';
export { BRAIN_ENV, BRAIN_MODE_ENV, BRAIN_NODE_OPTIONS_ENV } from './names.js';
export { type Inventory, KeeperLink, RemoteCopy } from './link.js';
export { type CopyTag, copyTag, tagOf } from './tags.js';
