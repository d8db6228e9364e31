// The fake gateway: HELLO, heartbeat ACKs, IDENTIFY → READY + GUILD_CREATE, RESUME, optional
// zlib-stream, and dispatch with per-session intent filtering. Sharded like Discord: a session
// that identified with `shard: [id, count]` gets the guilds with `(guild_id >> 22) % count === id`
// and their events only; DMs and other guild-less events go to shard 0.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { isRecord } from './http.js';
import { missingIntentReason, redactContent, requiredIntent } from './intents.js';
import { GatewaySocket } from './socket.js';
import type { DispatchedEvent, DroppedEvent, FakeUser } from './types.js';

export interface GatewayHost {
  readonly botToken: string;
  readonly heartbeatIntervalMs: number;
  readonly enforceIntents: boolean;
  readonly botUser: FakeUser;
  readonly guildId: string;
  readonly dispatched: DispatchedEvent[];
  readonly dropped: DroppedEvent[];
  gatewayUrl(): string;
  guildPayload(id?: string): Record<string, unknown>;
  guildIds(): string[];
  members(): Record<string, unknown>[];
}

interface Session {
  id: string;
  intents: number;
  seq: number;
  socket: GatewaySocket | undefined;
  /** `[shard_id, num_shards]` from IDENTIFY; `[0, 1]` when the client sent none. */
  shard: [number, number];
}

/** The shard Discord sends a guild's events to; guild-less events (DMs) go to shard 0. */
export function shardOfGuild(guildId: string | undefined, count: number): number {
  if (guildId === undefined || count <= 1) return 0;
  return Number((BigInt(guildId) >> 22n) % BigInt(count));
}

const hears = (session: Session, guildId: string | undefined): boolean =>
  shardOfGuild(guildId, session.shard[1]) === session.shard[0];

/** `shard` from IDENTIFY when it is a valid `[id, count]`. */
function shardFrom(d: Record<string, unknown>): [number, number] | undefined {
  const shard = d.shard;
  if (shard === undefined) return [0, 1];
  if (!Array.isArray(shard) || shard.length !== 2) return undefined;
  const [id, count] = shard as unknown[];
  if (!Number.isInteger(id) || !Number.isInteger(count)) return undefined;
  const [i, n] = [id as number, count as number];
  return n >= 1 && i >= 0 && i < n ? [i, n] : undefined;
}

const snapshot = (d: object): Record<string, unknown> => {
  const copy: unknown = JSON.parse(JSON.stringify(d));
  return isRecord(copy) ? copy : {};
};

export class Gateway {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sessions = new Map<string, Session>();
  private readonly sockets = new Set<GatewaySocket>();

  /**
   * Who gets an INTERACTION_CREATE: every live session (one bot process, the default), or one
   * session in turn, as when several bot processes share the load of one application (each
   * interaction reaches exactly one of them). Other events always go to every session.
   */
  interactionRouting: 'all' | 'round-robin' = 'all';
  #turn = 0;
  /** While set, connections are cut and new ones refused, as in a network outage. */
  #refusing = false;

  constructor(private readonly host: GatewayHost) {}

  /** Cuts every connection and refuses new ones (true), or takes them again (false). */
  refuse(refusing: boolean): void {
    this.#refusing = refusing;
    if (refusing) for (const socket of [...this.sockets]) socket.terminate();
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.#refusing) {
      socket.destroy();
      return;
    }
    const query = new URL(req.url ?? '/', 'http://fake.invalid').searchParams;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, query));
  }

  liveSessions(): number {
    return [...this.sessions.values()].filter((s) => s.socket?.isOpen() === true).length;
  }

  /** The `[shard_id, num_shards]` of each live session. */
  liveShards(): [number, number][] {
    return [...this.sessions.values()].filter((s) => s.socket?.isOpen() === true).map((s) => s.shard);
  }

  /** True once a session has been sent READY and GUILD_CREATE and its socket is open. */
  isReady(): boolean {
    return [...this.sessions.values()].some((s) => s.socket?.isOpen() === true);
  }

  dispatch(t: string, d: object): void {
    const data = snapshot(d);
    const guildId = typeof data.guild_id === 'string' ? data.guild_id : undefined;
    const open = [...this.sessions.values()].filter((s) => s.socket?.isOpen() === true);
    const live = open.filter((s) => hears(s, guildId));
    if (live.length === 0) {
      const reason =
        open.length === 0
          ? 'no gateway session'
          : `no gateway session for the shard of guild ${guildId ?? '(none)'}`;
      this.host.dropped.push({ t, d: data, reason, at: Date.now() });
      return;
    }
    const need = requiredIntent(t, data);
    const targets =
      t === 'INTERACTION_CREATE' && this.interactionRouting === 'round-robin'
        ? [live[this.#turn++ % live.length] as Session]
        : live;
    for (const session of targets) {
      if (this.host.enforceIntents && need !== null && (session.intents & need) === 0) {
        this.host.dropped.push({ t, d: data, reason: missingIntentReason(need), at: Date.now() });
        continue;
      }
      this.send(session, t, redactContent(t, data, session.intents, this.host.botUser.id));
    }
  }

  close(): void {
    for (const socket of this.sockets) socket.terminate();
    this.sockets.clear();
    this.wss.close();
  }

  private send(session: Session, t: string, d: Record<string, unknown>): void {
    if (session.socket === undefined) return;
    session.seq += 1;
    session.socket.send({ op: 0, t, s: session.seq, d });
    this.host.dispatched.push({ t, d, s: session.seq, at: Date.now(), shard: session.shard });
  }

  private accept(ws: WebSocket, query: URLSearchParams): void {
    const encoding = query.get('encoding') ?? 'json';
    const compress = query.get('compress');
    if (encoding !== 'json' || (compress !== null && compress !== 'zlib-stream')) {
      // Reject clearly rather than send frames the client cannot decode.
      ws.close(4002, `fake gateway supports encoding=json and compress=zlib-stream only`);
      return;
    }
    const socket = new GatewaySocket(ws, compress === 'zlib-stream');
    this.sockets.add(socket);
    ws.on('close', () => {
      this.sockets.delete(socket);
      for (const s of this.sessions.values()) if (s.socket === socket) s.socket = undefined;
    });
    ws.on('message', (raw: RawData) => this.onMessage(socket, raw));
    socket.send({ op: 10, d: { heartbeat_interval: this.host.heartbeatIntervalMs }, s: null, t: null });
  }

  private onMessage(socket: GatewaySocket, raw: RawData): void {
    let payload: unknown;
    try {
      const bytes = Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw);
      payload = JSON.parse(bytes.toString('utf8'));
    } catch {
      socket.close(4002, 'Error while decoding payload.');
      return;
    }
    if (!isRecord(payload) || typeof payload.op !== 'number')
      return socket.close(4002, 'Error while decoding payload.');
    const d = isRecord(payload.d) ? payload.d : {};
    const identified = [...this.sessions.values()].some((s) => s.socket === socket);
    switch (payload.op) {
      case 1:
        return socket.send({ op: 11, d: null, s: null, t: null });
      case 2:
        return identified ? socket.close(4005, 'Already authenticated.') : this.identify(socket, d);
      case 6:
        return this.resume(socket, d);
      case 3:
      case 4:
        return identified ? undefined : socket.close(4003, 'Not authenticated.');
      case 8:
        return this.requestMembers(socket, d);
      default:
        return socket.close(4001, 'Unknown opcode.');
    }
  }

  private identify(socket: GatewaySocket, d: Record<string, unknown>): void {
    if (d.token !== this.host.botToken) return socket.close(4004, 'Authentication failed.');
    if (typeof d.intents !== 'number') return socket.close(4013, 'Invalid intent(s).');
    const shard = shardFrom(d);
    if (shard === undefined) return socket.close(4010, 'Invalid shard.');
    const session: Session = {
      id: randomBytes(16).toString('hex'),
      intents: d.intents,
      seq: 0,
      socket,
      shard,
    };
    this.sessions.set(session.id, session);
    const guilds = this.host.guildIds().filter((id) => hears(session, id));
    this.send(session, 'READY', {
      v: 10,
      user: { ...this.host.botUser, verified: true, mfa_enabled: false, flags: 0, email: null },
      user_settings: {},
      guilds: guilds.map((id) => ({ id, unavailable: true })),
      relationships: [],
      private_channels: [],
      presences: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: ['loopback'],
      session_type: 'normal',
      session_id: session.id,
      resume_gateway_url: this.host.gatewayUrl(),
      shard,
      application: { id: this.host.botUser.id, flags: 0 },
      _trace: ['["fake-gateway",{"micros":0}]'],
    });
    for (const id of guilds) this.send(session, 'GUILD_CREATE', this.host.guildPayload(id));
  }

  private resume(socket: GatewaySocket, d: Record<string, unknown>): void {
    if (d.token !== this.host.botToken) return socket.close(4004, 'Authentication failed.');
    const session = typeof d.session_id === 'string' ? this.sessions.get(d.session_id) : undefined;
    if (session === undefined) return socket.send({ op: 9, d: false, s: null, t: null });
    session.socket = socket;
    // Nothing is replayed: events dispatched while disconnected were already recorded as dropped.
    this.send(session, 'RESUMED', {});
  }

  private requestMembers(socket: GatewaySocket, d: Record<string, unknown>): void {
    const session = [...this.sessions.values()].find((s) => s.socket === socket);
    if (session === undefined) return socket.close(4003, 'Not authenticated.');
    this.send(session, 'GUILD_MEMBERS_CHUNK', {
      guild_id: typeof d.guild_id === 'string' ? d.guild_id : this.host.guildId,
      members: this.host.members(),
      chunk_index: 0,
      chunk_count: 1,
      not_found: [],
      ...(typeof d.nonce === 'string' ? { nonce: d.nonce } : {}),
    });
  }
}
