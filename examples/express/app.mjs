// examples/express/app.mjs — an Express 4 app as an `app` vassal. The emperor's app server calls
// the module's default export for every request, so the export is the Express app itself (an
// Express app is a Node request listener). No listen(): the emperor owns the socket.
import express from 'express';

const app = express();
app.use(express.json({ limit: '100kb' }));

app.get('/', (_req, res) => {
  res.json({ framework: 'express', vassal: process.env.VASSAL_NAME ?? null, pid: process.pid });
});

// a JSON POST route: echoes the parsed body back, so a client can see it arrived whole
app.post('/echo', (req, res) => {
  res.status(201).json({ framework: 'express', received: req.body, pid: process.pid });
});

export default app;
