// examples/hono/app.mjs — a Hono 4 app as an `app` vassal. Hono apps are fetch-style (a Request
// in, a Response out): the default export is the app, whose `fetch` method the emperor's app
// server calls for every request. No serve()/listen(): the emperor owns the socket.
import { Hono } from 'hono';

const app = new Hono();

app.get('/', (c) => c.json({ framework: 'hono', vassal: process.env.VASSAL_NAME ?? null, pid: process.pid }));

// a JSON POST route: echoes the parsed body back
app.post('/echo', async (c) => {
  const body = await c.req.json();
  return c.json({ framework: 'hono', received: body, pid: process.pid }, 201);
});

export default app;
