// vassal/adapter.ts — runs fetch-style apps (`{ fetch(request) => Response }`, Hono and friends)
// on node:http: IncomingMessage -> WHATWG Request, Response -> ServerResponse, both streamed.
// Loaded lazily, only when the app module exports a fetch app.

import type { IncomingMessage, ServerResponse } from 'node:http';

export interface FetchApp {
  fetch(request: Request, ...rest: unknown[]): Response | Promise<Response>;
}

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** A request listener that serves `app` through its fetch method. */
export function fetchListener(app: FetchApp): Listener {
  return (req, res) => {
    serve(app, req, res).catch((err: unknown) => fail(res, err));
  };
}

async function serve(app: FetchApp, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const abort = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) abort.abort(new Error('client closed the connection'));
  });
  const request = toRequest(req, abort.signal);
  const response = await app.fetch(request);
  if (!(response instanceof Response)) throw new TypeError('fetch() did not return a Response');
  await writeResponse(response, req, res, abort.signal);
}

function toRequest(req: IncomingMessage, signal: AbortSignal): Request {
  const method = req.method ?? 'GET';
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.startsWith(':')) continue;
    try {
      headers.append(name, raw[i + 1] as string);
    } catch {
      // a header value WHATWG Headers rejects: leave it out rather than fail the request
    }
  }
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal };
  if (method !== 'GET' && method !== 'HEAD') {
    init.body = bodyStream(req);
    init.duplex = 'half';
  }
  return new Request(requestUrl(req), init);
}

function requestUrl(req: IncomingMessage): string {
  const path = req.url ?? '/';
  const host = req.headers.host ?? 'localhost';
  const scheme = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  try {
    return new URL(path, `${scheme}://${host}`).href;
  } catch {
    return new URL(path.startsWith('/') ? path : `/${path}`, `${scheme}://localhost`).href;
  }
}

/**
 * A pull-based web stream over the request body. Unlike Readable.toWeb, it never switches the
 * IncomingMessage to flowing mode, so a body the app leaves unread can still be drained after
 * the response (keep-alive stays sound) instead of stalling the connection.
 */
function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        return new Promise<void>((resolve) => {
          const done = (): void => {
            req.off('readable', onReadable);
            req.off('end', onEnd);
            req.off('error', onError);
            req.off('close', onClose);
            resolve();
          };
          const tryRead = (): boolean => {
            const chunk = req.read() as Buffer | null;
            if (chunk === null) return false;
            controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
            return true;
          };
          const onReadable = (): void => {
            if (tryRead()) done();
          };
          const onEnd = (): void => {
            controller.close();
            done();
          };
          const onError = (err: Error): void => {
            controller.error(err);
            done();
          };
          const onClose = (): void => {
            if (req.complete) return; // 'end' closes the stream
            controller.error(new Error('request aborted'));
            done();
          };
          if (req.readableEnded) {
            controller.close();
            resolve();
            return;
          }
          if (tryRead()) {
            resolve();
            return;
          }
          req.on('readable', onReadable);
          req.on('end', onEnd);
          req.on('error', onError);
          req.on('close', onClose);
        });
      },
      cancel() {
        // The app gave up on the body: discard the rest, keep the connection usable.
        if (!req.complete) req.resume();
      },
    },
    { highWaterMark: 0 },
  );
}

async function writeResponse(
  response: Response,
  req: IncomingMessage,
  res: ServerResponse,
  signal: AbortSignal,
): Promise<void> {
  res.statusCode = response.status;
  if (response.statusText) res.statusMessage = response.statusText;
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') res.setHeader(name, value);
  });
  const body = response.body;
  if (body === null || req.method === 'HEAD') {
    if (body !== null) await body.cancel().catch(() => undefined);
    res.end();
    return;
  }
  const reader = body.getReader();
  const stop = (): void => {
    reader.cancel().catch(() => undefined);
  };
  signal.addEventListener('abort', stop, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (signal.aborted) return;
      if (!res.write(value)) await writable(res);
    }
    res.end();
  } finally {
    signal.removeEventListener('abort', stop);
  }
}

/** Resolves on 'drain', or when the response is closed (the caller then sees signal.aborted). */
function writable(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function fail(res: ServerResponse, err: unknown): void {
  if (res.destroyed) return;
  if (!(err instanceof Error && err.name === 'AbortError')) {
    process.stderr.write(`worker: fetch app error: ${describe(err)}\n`);
  }
  if (!res.headersSent) {
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    res.statusCode = 500;
    res.statusMessage = 'Internal Server Error';
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.end('Internal Server Error\n');
  } else if (!res.writableEnded) {
    res.destroy(); // a half-sent body cannot be fixed: cut the connection so the client notices
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
