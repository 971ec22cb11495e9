// The control socket (door): the emperor's server and the CLI's client. Operator commands given
// here are the same commands the dashboard's buttons give (Emperor.control).
export { startControlServer, type ControlHost, type ControlServer } from './server.js';
export { sendControl, type ClientResult } from './client.js';
export { Outcome, type Verdict } from './outcome.js';
