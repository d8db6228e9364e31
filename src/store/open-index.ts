// Edits of the open-jobs index (src/store/jobs.ts) when several processes share the store. The
// index is a few lists in Keyv; adding to one is a read-modify-write, and two processes doing it
// at once lose one of the edits (a job accepted by one shard vanishes from the list the other
// shard just rewrote, and is never resumed after a restart). In-process locks do not order other
// processes, so on Redis each edit is one Lua script over the list Keyv wrote, in Keyv's own
// format (`{"value":[ids]}`), so either way of editing reads what the other wrote.
import { Script, type RedisCommander } from './redis-script.js';

export interface OpenIndexEdits {
  /** Adds a job id to the list under Keyv key `list` (once). */
  add(list: string, id: string): Promise<void>;
  /** Takes job ids off the list; ids not on it are ignored. */
  remove(list: string, ids: readonly string[]): Promise<void>;
}

// KEYS[1] the list's Redis key. ARGV[1] 'add' or 'remove', ARGV[2..] ids. cjson writes an empty
// table as {}, so an empty list is written by hand.
const EDIT = new Script(`
local raw = redis.call('GET', KEYS[1])
local ids = {}
if raw then
  local ok, rec = pcall(cjson.decode, raw)
  if ok and type(rec) == 'table' and type(rec.value) == 'table' then ids = rec.value end
end
local present = {}
for _, id in ipairs(ids) do present[id] = true end
if ARGV[1] == 'add' then
  if present[ARGV[2]] then return 0 end
  table.insert(ids, ARGV[2])
else
  local drop = {}
  for i = 2, #ARGV do drop[ARGV[i]] = true end
  local kept = {}
  for _, id in ipairs(ids) do
    if not drop[id] then table.insert(kept, id) end
  end
  if #kept == #ids then return 0 end
  ids = kept
end
if #ids == 0 then
  redis.call('SET', KEYS[1], '{"value":[]}')
else
  redis.call('SET', KEYS[1], cjson.encode({ value = ids }))
end
return 1
`);

export function createRedisOpenIndex(opts: {
  client: RedisCommander;
  /** The Redis key under which Keyv keeps a Keyv key. */
  redisKey: (keyvKey: string) => string;
}): OpenIndexEdits {
  return {
    async add(list, id) {
      await EDIT.run(opts.client, [opts.redisKey(list)], ['add', id]);
    },
    async remove(list, ids) {
      if (ids.length === 0) return;
      await EDIT.run(opts.client, [opts.redisKey(list)], ['remove', ...ids]);
    },
  };
}
