// Running-job slots shared by every process on one store: a member's running-job limit (per
// server) and the providers' caps. The engine's in-process admission decides who goes next in
// this process; before a job runs it claims its slot here, and a claim refused (another process
// holds the slots) sends the job back to wait. On SQLite the bot is the file's only process
// (src/store/keyv.ts), so its own admission is already the whole truth and every claim passes.
// The design, in words: docs/economy.md, "Running-job slots".
import { Script, type RedisCommander } from './redis-script.js';

export interface SlotClaim {
  jobId: string;
  /** `<guild>:<user>` or `dm:<user>`: limits are per member per server. */
  member: string;
  limit: number;
  provider: string;
  /** The provider's cap; absent = none. */
  cap?: number;
}

export interface SlotStore {
  /** Takes a running slot for the job if the member and the provider have room. Idempotent per job. */
  claim(claim: SlotClaim): Promise<boolean>;
  /** Records a job found running at start (its slot was taken before the restart), whatever the limits. */
  restore(claim: Omit<SlotClaim, 'limit' | 'cap'>): Promise<void>;
  /** Frees the job's slot (under every provider: a failover may have moved it). */
  release(jobId: string, member: string): Promise<void>;
}

export const LOCAL_SLOTS: SlotStore = {
  claim: () => Promise.resolve(true),
  restore: () => Promise.resolve(),
  release: () => Promise.resolve(),
};

const PROVIDERS = ['wavespeed', 'fal'] as const;

// A slot whose job record is gone or finished is freed on the spot: a release lost to a Redis
// blip or a process that died after finishing a job cannot keep a member waiting forever.
// ARGV: 1 job id, 2 member limit, 3 provider cap (0 = none), 4 where Keyv keeps job records.
const CLAIM = new Script(`
local function alive(id)
  local raw = redis.call('GET', ARGV[4] .. id)
  if not raw then return false end
  local ok, rec = pcall(cjson.decode, raw)
  if not ok or type(rec) ~= 'table' then return true end
  local job = rec.value
  if type(job) ~= 'table' then job = rec end
  return job.state ~= 'delivered' and job.state ~= 'refunded'
end
local function room(key, limit)
  if limit <= 0 or redis.call('SCARD', key) < limit then return true end
  for _, id in ipairs(redis.call('SMEMBERS', key)) do
    if not alive(id) then redis.call('SREM', key, id) end
  end
  return redis.call('SCARD', key) < limit
end
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
if not room(KEYS[1], tonumber(ARGV[2])) then return 0 end
if not room(KEYS[2], tonumber(ARGV[3])) then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[1])
return 1
`);

const RESTORE = new Script(`
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[1])
return 1
`);

const RELEASE = new Script(`
for _, key in ipairs(KEYS) do redis.call('SREM', key, ARGV[1]) end
return 1
`);

export function createRedisSlots(opts: {
  client: RedisCommander;
  /** The Redis key of a job record Keyv wrote (`job:<id>` under its namespace). */
  jobKey: (jobId: string) => string;
  prefix?: string;
}): SlotStore {
  const prefix = opts.prefix ?? 'animate:slots:';
  const memberKey = (member: string) => `${prefix}member:${member}`;
  const providerKey = (provider: string) => `${prefix}provider:${provider}`;
  const jobKeyPrefix = opts.jobKey('');
  return {
    async claim(c) {
      const got = await CLAIM.run<number>(
        opts.client,
        [memberKey(c.member), providerKey(c.provider)],
        [c.jobId, c.limit, c.cap ?? 0, jobKeyPrefix],
      );
      return Number(got) === 1;
    },
    async restore(c) {
      await RESTORE.run(opts.client, [memberKey(c.member), providerKey(c.provider)], [c.jobId]);
    },
    async release(jobId, member) {
      await RELEASE.run(opts.client, [memberKey(member), ...PROVIDERS.map(providerKey)], [jobId]);
    },
  };
}
