// The control socket (door): the emperor's server and the CLI's client. Operator commands given
// here are the same commands the dashboard's buttons give (Emperor.control). It must not decide
// a vassal's fate: the server hands each command to its host, the client only prints outcomes.
export { startControlServer, type ControlHost, type ControlServer } from './server.js';
export { exitCodeOf, sendControl, type ClientResult } from './client.js';
export { Outcome, type Verdict } from './outcome.js';
