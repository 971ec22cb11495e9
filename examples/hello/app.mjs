// examples/hello/app.mjs — a dependency-free example app for the emperor's built-in app server.
// Default export: a plain node:http request listener. `/` is a small HTML page, `/health`
// answers "ok", anything else answers JSON describing the request and the vassal serving it.

const started = Date.now();
let served = 0;

function page(vassal) {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>hello from ${escape(vassal)}</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; padding: 0 1rem; color: #222; }
  code { background: #f3f3f3; padding: .1rem .3rem; border-radius: 3px; }
</style></head>
<body>
  <h1>Hello from <code>${escape(vassal)}</code></h1>
  <p>Served by worker pid <code>${process.pid}</code>, up ${Math.round((Date.now() - started) / 1000)} s,
     ${served} request(s) so far.</p>
  <p>Try <a href="/api/hello"><code>/api/hello</code></a> for JSON, or touch this vassal's config
     file and reload the page: the pid changes, no request fails.</p>
</body>
</html>
`;
}

function escape(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export default function hello(req, res) {
  served++;
  const vassal = process.env.VASSAL_NAME ?? 'hello';
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(req.method === 'HEAD' ? undefined : page(vassal));
    return;
  }
  if (path === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok\n');
    return;
  }
  const body = JSON.stringify({ hello: 'world', vassal, pid: process.pid, method: req.method, path, served });
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(body + '\n');
}
