// The HTTP side of the fake: records every request, applies injected faults, checks the bot token,
// routes /api/v*/… and /cdn/…, and hands WebSocket upgrades (any path) to the gateway.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cdnRoutes, refreshRoutes } from './cdn.js';
import { auditRejection } from './audit.js';
import { ApiError, parseBody, readRaw, type RouteResult } from './http.js';
import { matchRoute, type Route } from './router.js';
import { botRoutes } from './routes/bot.js';
import { commandRoutes } from './routes/commands.js';
import { interactionRoutes } from './routes/interactions.js';
import { messageRoutes } from './routes/messages.js';
import { reactionRoutes } from './routes/reactions.js';
import { threadRoutes } from './routes/threads.js';
import type { RecordedRequest } from './types.js';
import { validateRequest } from './validation.js';
import type { PendingFault, World } from './world.js';

const API_ROUTES: Route[] = [
  ...botRoutes,
  ...commandRoutes,
  ...messageRoutes,
  ...threadRoutes,
  ...reactionRoutes,
  ...interactionRoutes,
  ...refreshRoutes,
];

const notFound = (): RouteResult => ({ status: 404, body: { code: 0, message: '404: Not Found' } });

function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function faultResult(fault: PendingFault): RouteResult {
  const headers: Record<string, string> = {};
  if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
  if (fault.status === 429) headers['x-ratelimit-scope'] = 'user';
  const body =
    fault.body ??
    (fault.status === 429
      ? { message: 'You are being rate limited.', retry_after: fault.retryAfter ?? 1, global: false }
      : { code: 0, message: `${fault.status}: injected failure` });
  return { status: fault.status, body, headers };
}

async function route(
  world: World,
  req: IncomingMessage,
  record: RecordedRequest,
  raw: Buffer,
): Promise<RouteResult> {
  const body = await parseBody(raw, req.headers['content-type']);
  if (body.json !== undefined) record.json = body.json;
  if (body.files.length > 0) record.files = body.files;
  const faultAt = world.faults.findIndex((f) => f.method === record.method && f.path.test(record.path));
  const fault = world.faults[faultAt];
  if (fault !== undefined) {
    world.faults.splice(faultAt, 1);
    return faultResult(fault);
  }
  const api = /^\/api(?:\/v\d+)?(\/.*)$/.exec(record.path);
  const [table, path] = record.path.startsWith('/cdn/') ? [cdnRoutes, record.path] : [API_ROUTES, api?.[1]];
  const match = path === undefined ? { kind: 'none' as const } : matchRoute(table, record.method, path);
  if (match.kind !== 'found') {
    world.unknownRoutes.push(record);
    return match.kind === 'none'
      ? notFound()
      : { status: 405, body: { code: 0, message: '405: Method Not Allowed' } };
  }
  if (match.route.auth === 'bot' && record.headers.authorization !== `Bot ${world.botToken}`) {
    return { status: 401, body: { code: 0, message: '401: Unauthorized' } };
  }
  // Discord rejects a malformed body before looking at channels, permissions or state.
  if (table === API_ROUTES) validateRequest(record.method, path ?? '', body, req.headers['content-type']);
  return match.route.handle({
    world,
    params: match.params,
    query: new URLSearchParams(record.query),
    body,
    headers: record.headers,
  });
}

function write(res: ServerResponse, result: RouteResult): void {
  const headers = { ...result.headers };
  if (result.raw !== undefined) {
    res.writeHead(result.status, {
      ...headers,
      'content-type': result.raw.contentType,
      'content-length': result.raw.bytes.length,
    });
    res.end(result.raw.bytes);
  } else if (result.body === undefined) {
    res.writeHead(result.status, headers);
    res.end();
  } else {
    const text = JSON.stringify(result.body);
    res.writeHead(result.status, {
      ...headers,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }
}

function reject(world: World, record: RecordedRequest, error: ApiError): void {
  const rejection = {
    method: record.method,
    path: record.path,
    ...(record.json === undefined ? {} : { json: record.json }),
    errors: error.errors ?? {},
  };
  world.rejected.push(rejection);
  auditRejection(rejection);
}

async function handle(world: World, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const record: RecordedRequest = {
    method: req.method ?? 'GET',
    path: decodePath(url.pathname),
    rawPath: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: headersOf(req),
    clientPort: req.socket.remotePort ?? 0,
    at: Date.now(),
  };
  world.requests.push(record);
  let result: RouteResult;
  try {
    result = await route(world, req, record, await readRaw(req));
  } catch (error: unknown) {
    if (error instanceof ApiError) {
      result = { status: error.status, body: error.toBody() };
      if (error.code === 50035) reject(world, record, error);
    } else {
      // A bug in the fake itself: answer 500 and keep the stack on the record for the test to show.
      record.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
      result = { status: 500, body: { code: 0, message: '500: Internal Server Error' } };
    }
  }
  record.status = result.status;
  // Test hooks run with the effect applied and the answer not yet sent (e.g. to kill the client).
  for (const hook of world.hooks.filter((h) => h.method === record.method && h.path.test(record.path))) {
    try {
      await hook.run(record);
    } catch (error: unknown) {
      record.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
    }
  }
  write(res, result);
}

/** Starts listening on 127.0.0.1 with an ephemeral port and returns the server and its port. */
export async function startServer(world: World): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    void handle(world, req, res);
  });
  // Discord's edge (Cloudflare) keeps an idle HTTP/1.1 connection for 400 s and sends no
  // Keep-Alive hint, so the client's own idle limit decides. Node's default (5 s, with a hint the
  // client obeys) would close connections under the bot that real Discord keeps; 0 sets no limit
  // and no hint.
  server.keepAliveTimeout = 0;
  server.on('connection', () => world.connectionsAccepted++);
  server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) =>
    world.gateway.handleUpgrade(req, socket, head),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { server, port };
}
