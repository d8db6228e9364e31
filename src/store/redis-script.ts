// A Lua script run inside Redis: Redis runs it alone, start to end, so a read-decide-write in
// one script is atomic with respect to every client (docs/economy.md, "The Redis backend").
import { createHash } from 'node:crypto';

/** The part of a node-redis client the scripts need (`KeyvRedis#client` is one). */
export interface RedisCommander {
  sendCommand<T = unknown>(args: ReadonlyArray<string>): Promise<T>;
}

export class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** EVALSHA, and on NOSCRIPT (a restarted or flushed Redis) EVAL, which caches it again. */
  async run<T>(client: RedisCommander, keys: string[], args: Array<string | number>): Promise<T> {
    const tail = [String(keys.length), ...keys, ...args.map(String)];
    try {
      return await client.sendCommand<T>(['EVALSHA', this.sha, ...tail]);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.sendCommand<T>(['EVAL', this.source, ...tail]);
    }
  }
}
