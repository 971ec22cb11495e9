// examples/fastify/app.mjs — a Fastify 4 app as an `app` vassal. Fastify creates and owns its
// own http.Server; the emperor owns the listening socket. So the app is made ready (plugins and
// routes loaded) but never listens, and the default export hands each request to Fastify's
// server, which runs its usual 'request' handler (routing, JSON body parsing, hooks).
import Fastify from 'fastify';

const app = Fastify({ logger: false });

app.get('/', async () => ({ framework: 'fastify', vassal: process.env.VASSAL_NAME ?? null, pid: process.pid }));

// a JSON POST route: Fastify parses application/json bodies itself
app.post('/echo', async (request, reply) => {
  reply.code(201);
  return { framework: 'fastify', received: request.body, pid: process.pid };
});

// top-level await: the worker reports ready only once this module has finished loading
await app.ready();

export default (req, res) => app.server.emit('request', req, res);
