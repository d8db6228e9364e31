// The fake gateway shards like Discord: a session that identified as shard [id, count] is sent
// the guilds with `(guild_id >> 22) % count === id` and only their events, DMs go to shard 0, and
// GET /gateway/bot recommends a configurable count. Checked with real discord.js clients, one per
// shard, as a ShardingManager's processes would be.
import { Client, Events, GatewayIntentBits, type Interaction } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeDiscord, type FakeDiscord } from './discord/index.js';
import { shardOfGuild } from './discord/gateway.js';

let discord: FakeDiscord | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
  await discord?.close();
  discord = undefined;
});

async function shardClient(fake: FakeDiscord, shard: number, shardCount: number) {
  const client = new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages],
    shards: [shard],
    shardCount,
    rest: { api: fake.apiBase },
  });
  clients.push(client);
  const seen: Interaction[] = [];
  client.on(Events.InteractionCreate, (i) => {
    seen.push(i);
    if (i.isChatInputCommand()) void i.reply({ content: `shard ${shard}` });
  });
  const ready = new Promise((resolve) => client.once(Events.ClientReady, resolve));
  await client.login(fake.botToken);
  await ready;
  return { client, seen };
}

describe('fake gateway sharding', () => {
  it('sends each shard the guilds whose id maps to it, and a guild’s interactions to its shard only', async () => {
    const fake = (discord = await startFakeDiscord());
    const g0 = fake.addGuild({ shard: 0, shardCount: 2 });
    const g1 = fake.addGuild({ shard: 1, shardCount: 2 });
    expect([shardOfGuild(g0.id, 2), shardOfGuild(g1.id, 2)]).toEqual([0, 1]);
    expect(Number((BigInt(g1.id) >> 22n) % 2n)).toBe(1);

    const s0 = await shardClient(fake, 0, 2);
    const s1 = await shardClient(fake, 1, 2);
    expect(fake.shards.sort()).toEqual([
      [0, 2],
      [1, 2],
    ]);
    const first = shardOfGuild(fake.guildId, 2);
    const expected = (shard: number) =>
      [fake.guildId, g0.id, g1.id].filter((id) => shardOfGuild(id, 2) === shard).sort();
    expect([...s0.client.guilds.cache.keys()].sort()).toEqual(expected(0));
    expect([...s1.client.guilds.cache.keys()].sort()).toEqual(expected(1));
    expect(s1.client.channels.cache.has(g1.channelId)).toBe(true);
    expect(s0.client.channels.cache.has(g1.channelId)).toBe(false);

    const user = fake.addUser({ username: 'member' });
    const in1 = await fake.sendCommand({ name: 'animate', user, channelId: g1.channelId });
    expect((await in1.waitForReply()).content).toBe('shard 1');
    const in0 = await fake.sendCommand({ name: 'animate', user, channelId: g0.channelId });
    expect((await in0.waitForReply()).content).toBe('shard 0');
    const inDm = await fake.sendCommand({ name: 'animate', user, inDm: true });
    expect((await inDm.waitForReply()).content).toBe('shard 0');
    const inFirst = await fake.sendCommand({ name: 'animate', user });
    expect((await inFirst.waitForReply()).content).toBe(`shard ${first}`);

    expect(s0.seen.map((i) => i.guildId)).toEqual([g0.id, null, ...(first === 0 ? [fake.guildId] : [])]);
    expect(s1.seen.map((i) => i.guildId)).toEqual([g1.id, ...(first === 1 ? [fake.guildId] : [])]);
    // A guild's other events follow the same rule: a message posted in each guild reached its shard only.
    for (const channelId of [fake.channelId, g0.channelId, g1.channelId])
      fake.addMessage({ author: user, channelId, content: 'hello' });
    const posts = fake.dispatched.filter(
      (e) => e.t === 'MESSAGE_CREATE' && (e.d.author as { id?: string } | undefined)?.id === user.id,
    );
    expect(posts.map((e) => [e.d.guild_id, e.shard?.[0]]).sort()).toEqual(
      [fake.guildId, g0.id, g1.id].map((id) => [id, shardOfGuild(id, 2)]).sort(),
    );
  });

  it('drops a guild’s event when its shard has no session, and tells why', async () => {
    const fake = (discord = await startFakeDiscord());
    const g1 = fake.addGuild({ shard: 1, shardCount: 2 });
    await shardClient(fake, 0, 2);
    await fake.sendCommand({ name: 'animate', user: fake.addUser(), channelId: g1.channelId });
    expect(fake.dropped.find((e) => e.t === 'INTERACTION_CREATE')?.reason).toMatch(
      /no gateway session for the shard of guild/,
    );
  });

  it('GET /gateway/bot recommends the configured number of shards', async () => {
    const fake = (discord = await startFakeDiscord({ recommendedShards: 3 }));
    const res = await fetch(`${fake.apiBase}/v10/gateway/bot`, {
      headers: { authorization: `Bot ${fake.botToken}` },
    });
    expect(((await res.json()) as { shards: number }).shards).toBe(3);
  });

  it('a client without sharding (one session, shard [0, 1]) still hears every guild', async () => {
    const fake = (discord = await startFakeDiscord());
    const g1 = fake.addGuild({ shard: 1, shardCount: 2 });
    const only = await shardClient(fake, 0, 1);
    expect(only.client.guilds.cache.has(g1.id)).toBe(true);
    const reply = await fake.sendCommand({ name: 'animate', user: fake.addUser(), channelId: g1.channelId });
    expect((await reply.waitForReply()).content).toBe('shard 0');
  });
});
