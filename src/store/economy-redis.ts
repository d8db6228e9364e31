// The economy on Redis, exact across any number of bot processes sharing it (docs/economy.md,
// "The Redis backend").
//
// Why not Keyv's get/set: a hold reads the balance, the cap counter and the migration marker,
// decides, and writes them back. Two processes doing that read-modify-write at the same time
// both read the same balance and both write "balance − price": a lost update, which is an
// overspend (or a cap passed). Keyv offers no transaction, no compare-and-set and no way to run
// logic next to the data, and an in-process lock only orders the calls of one process. So every
// change that reads before it writes (hold with its allowance, cap and balance; spend; refund;
// lowerHold; adjust; wallet's allowance and migration) is ONE Lua script: Redis runs a script
// alone, start to end, so each is atomic with respect to every client.
//
// Keys (prefix `animate:eco:`):
//   acct:<scope>:<user>     hash: free, held, allowance (period id of the last allowance), migrated
//   holds:<scope>:<user>    hash: jobId → {"amount","note","capKey"?,"lowered"?}, open holds only
//   entries:<scope>:<user>  list of entry JSON, oldest first (RPUSH)
//   keys:<scope>:<user>     set of entry keys written: a replayed step finds its key and stops
//   cap:<guild>:<periodId>  integer, what the server's holds and spends count against its cap,
//                           expiring a day after its period
//   migrated:<user>         the scope that took the member's pre-scope ledger record
//   legacy:<user>           hash: that record's jobs → their state then (their holds live in that scope)
//   accounts                set of ["scope","user"] JSON, every account, for audit()
// The pre-scope record itself is Keyv's `acct:<user>` (key `animate::animate:acct:<user>`), read
// inside the script that creates an account, so the carry-over is claimed and written in one step.
// Every key a script touches is passed to it in KEYS (a hold's cap counter, remembered on the
// hold, is passed back in by the caller). It needs one Redis server, not Cluster: the keys of one
// step (an account, its cap counter, the member's marker) are in different slots.
import {
  type AccountRef,
  type Economy,
  type EconomyOptions,
  type HoldResult,
  type LedgerEntry,
  checkAmount,
  NOTES,
} from './economy.js';
import { nextPeriodStart, periodId } from './periods.js';
import { Script, type RedisCommander } from './redis-script.js';

export type { RedisCommander };

export interface RedisEconomyOptions extends EconomyOptions {
  client: RedisCommander;
  /** Where Keyv keeps the pre-scope ledger's record of a member. */
  legacyKey: (userId: string) => string;
  /** Default `animate:eco:`. */
  prefix?: string;
}

const DAY_MS = 86_400_000;

// Shared by every account script. KEYS: 1 acct, 2 holds, 3 entries, 4 keys, 5 accounts,
// 6 migration marker, 7 pre-scope record, 8 pre-scope jobs, [9 cap counter].
// ARGV: 1 now, 2 starting credits, 3 scope, 4 user, then the script's own.
const PRELUDE = `
local now = tonumber(ARGV[1])
local starting = tonumber(ARGV[2])
local scope = ARGV[3]
local user = ARGV[4]
local A, HOLDS, ENTRIES, EKEYS, ACCOUNTS, MARKER, LEGACY, LJOBS = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]

-- Integers as digits: Lua's tostring gives only 14 significant digits.
local function int(n) return string.format('%d', n) end
local function str(s) return cjson.encode(s) end

local function entry(key, kind, delta, amount, note, job, by, at)
  local s = '{"key":' .. str(key) .. ',"kind":' .. str(kind) .. ',"delta":' .. int(delta) ..
    ',"amount":' .. int(amount) .. ',"note":' .. str(note)
  if job then s = s .. ',"jobId":' .. str(job) end
  if by then s = s .. ',"by":' .. str(by) end
  return s .. ',"at":' .. int(at) .. '}'
end

-- Appends an entry unless its key exists; the caller applies the balances.
local function add(key, kind, delta, amount, note, job, by, at)
  if redis.call('SADD', EKEYS, key) == 0 then return false end
  redis.call('RPUSH', ENTRIES, entry(key, kind, delta, amount, note, job, by, at or now))
  return true
end

local function free() return tonumber(redis.call('HGET', A, 'free')) end
local function held() return tonumber(redis.call('HGET', A, 'held')) end

-- Keyv escapes strings that start with ':' by doubling the colon.
local function unescape(s)
  if type(s) ~= 'string' then return nil end
  if string.sub(s, 1, 1) == ':' then return string.sub(s, 2) end
  return s
end

-- The pre-scope record, carried over into this account: its spends for the record, one grant
-- of free + held, then its open holds so those jobs can still be spent or refunded.
local function migrate(record)
  local balance = math.max(0, math.floor(tonumber(record.balance) or 0))
  local heldSum, holds, spent = 0, {}, {}
  for _, e in ipairs(type(record.entries) == 'table' and record.entries or {}) do
    local job, note = unescape(e.jobId), unescape(e.note) or ''
    local amount = math.max(0, math.floor(tonumber(e.amount) or 0))
    if job and not string.find(job, ':lowered$') then
      if e.state == 'held' then
        holds[#holds + 1] = { job, amount, note }
        heldSum = heldSum + amount
        redis.call('HSET', LJOBS, job, 'held')
      elseif e.state == 'spent' then
        spent[#spent + 1] = { job, amount, note, tonumber(e.updatedAt) or now }
        redis.call('HSET', LJOBS, job, 'spent')
      elseif e.state == 'refunded' then
        redis.call('HSET', LJOBS, job, 'refunded')
      end
    end
  end
  table.sort(spent, function(a, b) return a[4] < b[4] end)
  for _, s in ipairs(spent) do add('legacy:' .. s[1], 'spend', 0, s[2], s[3], s[1], nil, s[4]) end
  add('migrated', 'grant', balance + heldSum, balance + heldSum, ${JSON.stringify(NOTES.migrated)})
  for _, h in ipairs(holds) do
    if add('hold:' .. h[1], 'hold', -h[2], h[2], h[3], h[1]) then
      redis.call('HSET', HOLDS, h[1], cjson.encode({ amount = h[2], note = h[3] }))
    end
  end
  redis.call('HSET', A, 'free', int(balance), 'held', int(heldSum), 'migrated', '1')
end

-- The account exists after this: as it was, migrated from the pre-scope record (the first
-- account of the member, once: the marker is claimed in the same step), or with the starting credits.
local function ensure()
  if redis.call('EXISTS', A) == 1 then return end
  redis.call('SADD', ACCOUNTS, cjson.encode({ scope, user }))
  local marker = redis.call('GET', MARKER)
  if not marker or marker == scope then
    local raw = redis.call('GET', LEGACY)
    if raw then
      local ok, decoded = pcall(cjson.decode, raw)
      if ok and type(decoded) == 'table' and type(decoded.value) == 'table' then
        redis.call('SET', MARKER, scope)
        migrate(decoded.value)
        return
      end
    end
  end
  add('start', 'grant', starting, starting, ${JSON.stringify(NOTES.start)})
  redis.call('HSET', A, 'free', int(starting), 'held', '0')
end

-- Tops the free balance up to the allowance once per period (the marker is kept either way).
local function allowance(amount, period)
  if amount <= 0 or period == '' then return end
  if redis.call('HGET', A, 'allowance') == period then return end
  redis.call('HSET', A, 'allowance', period)
  local delta = amount - free()
  if delta > 0 and add('allowance:' .. period, 'allowance', delta, delta, ${JSON.stringify(NOTES.allowance)}) then
    redis.call('HINCRBY', A, 'free', int(delta))
  end
end

-- A job of the pre-scope record whose hold lives in the scope that record moved to.
local function elsewhere(job)
  local marker = redis.call('GET', MARKER)
  if marker and marker ~= scope and redis.call('HEXISTS', LJOBS, job) == 1 then return marker end
  return nil
end

-- Gives credits back to the cap counter a hold was counted in, never below zero.
local function uncap(key, amount)
  local used = tonumber(redis.call('GET', key))
  if used then redis.call('SET', key, int(math.max(0, used - amount)), 'KEEPTTL') end
end
`;

const SCRIPTS = {
  // ARGV 5 allowance amount, 6 allowance period id ('' for none).
  wallet: `
ensure()
allowance(tonumber(ARGV[5]), ARGV[6])
return { free(), held() }`,

  // ARGV 5 job, 6 amount, 7 note, 8 allowance amount, 9 allowance period id, 10 cap amount (-1: none),
  // 11 cap resets at, 12 cap counter expires at. KEYS[9] the cap counter.
  hold: `
ensure()
local job, amount, note = ARGV[5], tonumber(ARGV[6]), ARGV[7]
if redis.call('HEXISTS', HOLDS, job) == 1 or redis.call('SISMEMBER', EKEYS, 'hold:' .. job) == 1
  or redis.call('SISMEMBER', EKEYS, 'legacy:' .. job) == 1 or elsewhere(job) then
  return { 'ok', free(), held() }
end
allowance(tonumber(ARGV[8]), ARGV[9])
local cap, capKey = tonumber(ARGV[10]), nil
if cap >= 0 and amount > 0 then
  capKey = KEYS[9]
  local used = tonumber(redis.call('GET', capKey)) or 0
  if used + amount > cap then return { 'cap', ARGV[11] } end
end
local f = free()
if f < amount then return { 'credits', f, amount } end
add('hold:' .. job, 'hold', -amount, amount, note, job)
redis.call('HINCRBY', A, 'free', int(-amount))
redis.call('HINCRBY', A, 'held', int(amount))
local h = { amount = amount, note = note }
if capKey then
  redis.call('INCRBY', capKey, int(amount))
  redis.call('PEXPIREAT', capKey, ARGV[12])
  h.capKey = capKey
end
redis.call('HSET', HOLDS, job, cjson.encode(h))
return { 'ok', free(), held() }`,

  // ARGV 5 job, 6 'spend' | 'refund' | 'lower', 7 lowered amount, 8 note. KEYS[9] the hold's cap
  // counter when the caller knows it; without it a capped refund answers 'capkey' and writes nothing.
  settle: `
ensure()
local job, mode = ARGV[5], ARGV[6]
local raw = redis.call('HGET', HOLDS, job)
if not raw then
  local other = elsewhere(job)
  if other then return { 'elsewhere', other } end
  return { 'none' }
end
local h = cjson.decode(raw)
local amount = h.amount
if mode == 'lower' then
  local to = tonumber(ARGV[7])
  if amount <= to then return { 'ok' } end
  amount = amount - to
end
if h.capKey and mode ~= 'spend' and h.capKey ~= KEYS[9] then return { 'capkey', h.capKey } end
if mode == 'spend' then
  add('spend:' .. job, 'spend', 0, amount, h.note, job)
  redis.call('HDEL', HOLDS, job)
elseif mode == 'refund' then
  add('refund:' .. job, 'refund', amount, amount, h.note, job)
  redis.call('HDEL', HOLDS, job)
  redis.call('HINCRBY', A, 'free', int(amount))
else
  h.lowered = (h.lowered or 0) + 1
  local key = 'refund:' .. job .. ':lowered'
  if h.lowered > 1 then key = key .. ':' .. int(h.lowered) end
  add(key, 'refund', amount, amount, ARGV[8], job)
  h.amount = h.amount - amount
  redis.call('HSET', HOLDS, job, cjson.encode(h))
  redis.call('HINCRBY', A, 'free', int(amount))
end
redis.call('HINCRBY', A, 'held', int(-amount))
if h.capKey and mode ~= 'spend' then uncap(h.capKey, amount) end
return { 'ok' }`,

  // ARGV 5 kind, 6 amount, 7 key, 8 by, 9 reason.
  adjust: `
ensure()
local kind, amount, key = ARGV[5], tonumber(ARGV[6]), 'admin:' .. ARGV[7]
local f = free()
if redis.call('SISMEMBER', EKEYS, key) == 1 then return { f, 0 } end
local delta, recorded = amount, amount
if kind == 'take' then
  delta = 0 - math.min(amount, f)
  recorded = -delta
elseif kind == 'set' then
  delta = amount - f
end
add(key, kind, delta, recorded, ARGV[9], nil, ARGV[8])
redis.call('HINCRBY', A, 'free', int(delta))
return { f + delta, delta }`,

  // ARGV 5 job.
  holdState: `
ensure()
local job = ARGV[5]
if redis.call('HEXISTS', HOLDS, job) == 1 then return { 'held' } end
if redis.call('SISMEMBER', EKEYS, 'spend:' .. job) == 1 or redis.call('SISMEMBER', EKEYS, 'legacy:' .. job) == 1 then
  return { 'spent' }
end
if redis.call('SISMEMBER', EKEYS, 'refund:' .. job) == 1 then return { 'refunded' } end
local other = elsewhere(job)
if other then return { 'elsewhere', other } end
-- A pre-scope job refunded before the upgrade has no entry; its state is the record's.
if redis.call('HGET', LJOBS, job) == 'refunded' and redis.call('GET', MARKER) == scope then return { 'refunded' } end
return { 'none' }`,

  // ARGV 5 how many.
  entries: `
ensure()
return redis.call('LRANGE', ENTRIES, -tonumber(ARGV[5]), -1)`,
} as const;

// KEYS: 1 acct, 2 holds, 3 entries. Sums the entries in pages so a long history is not one reply.
const AUDIT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local sum, start = 0, 0
while true do
  local page = redis.call('LRANGE', KEYS[3], start, start + 999)
  for _, raw in ipairs(page) do sum = sum + cjson.decode(raw).delta end
  if #page < 1000 then break end
  start = start + 1000
end
local holds = 0
for _, raw in ipairs(redis.call('HVALS', KEYS[2])) do holds = holds + cjson.decode(raw).amount end
return { tonumber(redis.call('HGET', KEYS[1], 'free')), string.format('%d', sum), tonumber(redis.call('HGET', KEYS[1], 'held')), holds }`;

type Reply = Array<string | number>;

export function createRedisEconomy(opts: RedisEconomyOptions): Economy {
  const { client, legacyKey } = opts;
  const startingCredits = checkAmount(opts.startingCredits, 'startingCredits');
  const now = opts.now ?? Date.now;
  const prefix = opts.prefix ?? 'animate:eco:';
  const scripts = Object.fromEntries(
    Object.entries(SCRIPTS).map(([name, body]) => [name, new Script(`${PRELUDE}\n${body}`)]),
  ) as Record<keyof typeof SCRIPTS, Script>;
  const audit = new Script(AUDIT);
  /** jobId → the cap counter its hold was counted in, for holds made here (saves a round trip on refund). */
  const capHints = new Map<string, string>();

  const run = <T>(script: Script, keys: string[], args: Array<string | number>): Promise<T> =>
    script.run<T>(client, keys, args);

  const accountKeys = (ref: AccountRef): string[] => {
    const id = `${ref.scope}:${ref.userId}`;
    return [
      `${prefix}acct:${id}`,
      `${prefix}holds:${id}`,
      `${prefix}entries:${id}`,
      `${prefix}keys:${id}`,
      `${prefix}accounts`,
      `${prefix}migrated:${ref.userId}`,
      legacyKey(ref.userId),
      `${prefix}legacy:${ref.userId}`,
    ];
  };

  function call<T = Reply>(
    name: keyof typeof SCRIPTS,
    ref: AccountRef,
    args: Array<string | number>,
    extraKeys: string[] = [],
  ): Promise<T> {
    return run<T>(
      scripts[name],
      [...accountKeys(ref), ...extraKeys],
      [now(), startingCredits, ref.scope, ref.userId, ...args],
    );
  }

  /** spend / refund / lower, following a pre-scope job to the scope its hold moved to. */
  async function settle(
    ref: AccountRef,
    jobId: string,
    mode: 'spend' | 'refund' | 'lower',
    lowerTo = 0,
    note = '',
  ): Promise<boolean> {
    let at = ref;
    let capKey = capHints.get(jobId);
    for (let attempt = 0; attempt < 4; attempt++) {
      const reply = await call('settle', at, [jobId, mode, lowerTo, note], capKey ? [capKey] : []);
      switch (reply[0]) {
        case 'ok':
          if (mode !== 'lower') capHints.delete(jobId);
          return true;
        case 'none':
          return false;
        case 'capkey':
          capKey = String(reply[1]);
          break;
        case 'elsewhere':
          if (at !== ref) return false;
          at = { scope: String(reply[1]), userId: ref.userId };
          break;
        default:
          throw new Error(`unexpected reply ${JSON.stringify(reply)}`);
      }
    }
    throw new Error(`settling ${jobId} did not converge`);
  }

  return {
    backend: 'redis',

    wallet: async (ref, allowance) => {
      if (allowance) checkAmount(allowance.amount, 'allowance');
      const [free, held] = await call('wallet', ref, [
        allowance?.amount ?? 0,
        allowance ? periodId(allowance.period, now()) : '',
      ]);
      return { free: Number(free), held: Number(held) };
    },

    hold: async (request): Promise<HoldResult> => {
      const { account, jobId, note, allowance, cap } = request;
      const amount = checkAmount(request.amount);
      if (allowance) checkAmount(allowance.amount, 'allowance');
      if (cap) checkAmount(cap.amount, 'cap');
      const at = now();
      const capKey = cap ? `${prefix}cap:${cap.guildId}:${periodId(cap.period, at)}` : undefined;
      const reply = await call(
        'hold',
        account,
        [
          jobId,
          amount,
          note,
          allowance?.amount ?? 0,
          allowance ? periodId(allowance.period, at) : '',
          cap ? cap.amount : -1,
          cap ? nextPeriodStart(cap.period, at) : 0,
          cap ? nextPeriodStart(cap.period, at) + DAY_MS : 0,
        ],
        capKey ? [capKey] : [],
      );
      switch (reply[0]) {
        case 'ok':
          if (capKey && amount > 0) {
            capHints.set(jobId, capKey);
            if (capHints.size > 10_000) capHints.delete(capHints.keys().next().value!);
          }
          return { ok: true, free: Number(reply[1]), held: Number(reply[2]) };
        case 'cap':
          return { ok: false, reason: 'cap', resetsAt: Number(reply[1]) };
        case 'credits':
          return { ok: false, reason: 'credits', free: Number(reply[1]), needed: Number(reply[2]) };
        default:
          throw new Error(`unexpected reply ${JSON.stringify(reply)}`);
      }
    },

    spend: (ref, jobId) => settle(ref, jobId, 'spend'),
    refund: (ref, jobId) => settle(ref, jobId, 'refund'),
    lowerHold: async (ref, jobId, amount, note) => {
      await settle(ref, jobId, 'lower', checkAmount(amount), note);
    },

    adjust: async (ref, change, meta) => {
      checkAmount(change.amount);
      const [free, delta] = await call('adjust', ref, [
        change.kind,
        change.amount,
        meta.key,
        meta.by,
        meta.reason,
      ]);
      return { free: Number(free), delta: Number(delta) };
    },

    holdState: async (ref, jobId) => {
      let reply = await call('holdState', ref, [jobId]);
      if (reply[0] === 'elsewhere')
        reply = await call('holdState', { scope: String(reply[1]), userId: ref.userId }, [jobId]);
      const state = reply[0];
      return state === 'held' || state === 'spent' || state === 'refunded' ? state : undefined;
    },

    entries: async (ref, limit) => {
      if (limit <= 0) return [];
      const raw = await call<string[]>('entries', ref, [Math.floor(limit)]);
      return raw.map((s) => JSON.parse(s) as LedgerEntry).reverse();
    },

    capUsed: async (guildId, period, at) => {
      const raw = await client.sendCommand<string | null>([
        'GET',
        `${prefix}cap:${guildId}:${periodId(period, at)}`,
      ]);
      return raw === null ? 0 : Number(raw);
    },

    audit: async () => {
      const drift: Awaited<ReturnType<Economy['audit']>> = [];
      let cursor = '0';
      do {
        const [next, members] = await client.sendCommand<[string, string[]]>([
          'SSCAN',
          `${prefix}accounts`,
          cursor,
          'COUNT',
          '500',
        ]);
        cursor = next;
        for (const member of members) {
          const [scope, userId] = JSON.parse(member) as [string, string];
          const keys = accountKeys({ scope, userId }).slice(0, 3);
          const row = await run<Reply | null>(audit, keys, []);
          if (!row) continue;
          const [free, sum, held, holds] = row.map(Number) as [number, number, number, number];
          if (free !== sum || held !== holds)
            drift.push({ account: { scope, userId }, free, sum, held, holds });
        }
      } while (cursor !== '0');
      return drift;
    },
  };
}
