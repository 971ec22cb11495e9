// On-demand vassals (SPEC §2, §4): no process before the first connection, that first client
// is served, the vassal stops after `idle` seconds without requests and serves again on the next.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { alive, appIni, freePort, request, startEmperor, waitUntil } from '../helpers/emperor.js';
import { needsPython } from '../helpers/require.js';

test('an on-demand app vassal starts on its first connection and goes idle again', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'od.sock');
  e.write('od.ini', appIni('env.mjs', sock, 'on-demand = true\nidle = 2'));
  const idle = await e.waitVassal('od', 'idle');
  assert.equal(idle.pid, null, 'no vassal process before the first connection');
  assert.equal(e.events('spawned', 'od').length, 0);

  const first = await request({ socketPath: sock }, '/');
  assert.equal(first.status, 200);
  const pid = JSON.parse(first.body).pid as number;
  const ready = await e.waitVassal('od', 'ready');
  assert.equal(ready.pid, pid);

  // no requests for `idle` seconds: stopped, waiting again
  await e.waitVassal('od', (v) => v.state === 'idle' && v.pid === null, 15_000);
  await waitUntil(() => !alive(pid), 5000, 'the idle copy to exit');

  const again = await request({ socketPath: sock }, '/');
  assert.equal(again.status, 200);
  assert.notEqual(JSON.parse(again.body).pid, pid);
});

test('an on-demand exec vassal: its first connection is relayed once it is ready', { skip: needsPython() }, async (t) => {
  const e = await startEmperor(t);
  // a port the kernel handed out (bound on :0, read, released), not a random guess that may be taken
  const port = await freePort();
  const server = path.join(e.dir, 'fd3.py');
  const fs = await import('node:fs');
  fs.writeFileSync(
    server,
    [
      'import os, socket',
      's = socket.socket(fileno=3)',
      'while True:',
      '    c, _ = s.accept()',
      '    c.recv(65536)',
      "    body = str(os.getpid()).encode()",
      "    c.sendall(b'HTTP/1.1 200 OK\\r\\nContent-Length: ' + str(len(body)).encode() + b'\\r\\nConnection: close\\r\\n\\r\\n' + body)",
      '    c.close()',
    ].join('\n'),
  );
  e.write('odx.ini', `[vassal]\nexec = /usr/bin/python3 ${server}\nhttp-socket = 127.0.0.1:${port}\non-demand = true\nready-after = 200\nmercy = 2\n`);
  await e.waitVassal('odx', 'idle');
  const r = await request({ port }, '/');
  assert.equal(r.status, 200);
  const v = await e.waitVassal('odx', 'ready');
  assert.equal(r.body, String(v.pid));
});
