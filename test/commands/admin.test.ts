// /animate-admin, every subcommand, through real discord.js against the fake Discord (which checks
// each interaction against the registered JSON), on a real settings store and economy: who may
// use it, what each subcommand changes and answers, that every change is logged, and that the
// rules it sets refuse /animate and 🔁 reruns before the engine is asked for anything.
import { describe, expect, it } from 'vitest';
import { animateAdminData } from '../../src/commands/animate-admin-data.js';
import { adminWorlds, type AdminWorld } from './admin-world.js';

const world = adminWorlds();

const adminChanges = (w: AdminWorld) =>
  w.logs.filter((l) => l.msg === 'server settings changed' || l.msg === 'credits changed by an admin');

/** The first bold number in a reply: the balance in a statement. */
const bold = (content: string) => Number(/\*\*(\d+)\*\*/.exec(content)?.[1]);

async function credits(w: AdminWorld, user = w.member): Promise<string> {
  const interaction = await w.fake.sendCommand({ name: 'credits', user });
  return (await interaction.waitForReply()).content;
}

describe('/animate-admin registration', () => {
  it('needs Manage Server by default and exists only in servers', async () => {
    expect(animateAdminData.default_member_permissions).toBe('32');
    expect(animateAdminData.contexts).toEqual([0]);
    expect(animateAdminData.integration_types).toEqual([0]);
    const w = await world();
    // Registered as sent: the fake keeps the body Discord would.
    const stored = w.fake.commands.find((c) => c.name === 'animate-admin');
    expect(stored).toMatchObject({ default_member_permissions: '32', contexts: [0], integration_types: [0] });
  });
});

describe('who may use /animate-admin', () => {
  it('refuses a member without Manage Server, privately, and changes nothing', async () => {
    const w = await world();
    const reply = await w.adminCommand(w.member, 'limit', { jobs: 5 });
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toContain('Manage Server');
    expect((await w.settings.get(w.fake.guildId)).jobLimit).toBeUndefined();
    expect(adminChanges(w)).toEqual([]);
  });

  it('lets a member with Manage Server through a role, and the server owner', async () => {
    const w = await world();
    expect((await w.adminCommand(w.admin, 'limit', { jobs: 3 })).content).toContain('**3** jobs');
    expect((await w.adminCommand(w.fake.owner, 'limit', { jobs: 4 })).content).toContain('**4** jobs');
    expect((await w.settings.get(w.fake.guildId)).jobLimit).toBe(4);
  });

  it('lets an ADMIN_USER_IDS user without Manage Server through', async () => {
    const w = await world();
    const operator = w.fake.addUser({ username: 'operator' });
    expect((await w.adminCommand(operator, 'limit', { jobs: 2 })).content).toContain('Manage Server');
    w.operators.add(operator.id);
    expect((await w.adminCommand(operator, 'limit', { jobs: 2 })).content).toContain('**2** jobs');
  });
});

describe('/animate-admin credits', () => {
  it('grant adds, says the new balance, and is logged with admin, server, subcommand and change', async () => {
    const w = await world();
    const reply = await w.adminCommand(w.admin, 'credits grant', {
      member: w.member.id,
      amount: 50,
      reason: 'contest winner',
    });
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toBe(`Granted **50** credits to <@${w.member.id}>. They now have **150**.`);
    expect(bold(await credits(w))).toBe(150);
    const logged = adminChanges(w);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      adminId: w.admin.id,
      guildId: w.fake.guildId,
      subcommand: 'credits grant',
      change: { member: w.member.id, kind: 'grant', amount: 50, delta: 50, reason: 'contest winner' },
    });
  });

  it('take larger than the free balance takes only the free part and says how many', async () => {
    const w = await world();
    const reply = await w.adminCommand(w.admin, 'credits take', { member: w.member.id, amount: 500 });
    expect(reply.content).toContain('Took **100** of the 500 credits asked');
    expect(reply.content).toContain('They now have **0**');
    expect(bold(await credits(w))).toBe(0);
  });

  it('take leaves held credits alone', async () => {
    const w = await world();
    const account = { scope: w.fake.guildId, userId: w.member.id };
    await w.economy.hold({ account, jobId: 'job1', amount: 30, note: 'wavespeed/ray-2-flash 5s' });
    const reply = await w.adminCommand(w.admin, 'credits take', { member: w.member.id, amount: 100 });
    expect(reply.content).toContain('Took **70** of the 100');
    expect(await w.economy.wallet(account)).toEqual({ free: 0, held: 30 });
  });

  it('take within the balance says what it took', async () => {
    const w = await world();
    const reply = await w.adminCommand(w.admin, 'credits take', { member: w.member.id, amount: 30 });
    expect(reply.content).toBe(`Took **30** credits from <@${w.member.id}>. They now have **70**.`);
  });

  it('set sets the free balance', async () => {
    const w = await world();
    const reply = await w.adminCommand(w.admin, 'credits set', { member: w.member.id, amount: 7 });
    expect(reply.content).toContain('free balance to **7** (−93)');
    expect(bold(await credits(w))).toBe(7);
  });

  it('show is that member’s /credits view, naming them without pinging', async () => {
    const w = await world();
    await w.adminCommand(w.admin, 'credits grant', { member: w.member.id, amount: 5, reason: 'thanks' });
    const reply = await w.adminCommand(w.admin, 'credits show', { member: w.member.id });
    expect(reply.content).toContain(`<@${w.member.id}> has **105** credits in this server`);
    expect(reply.content).toContain('granted by an admin · thanks');
    const own = await credits(w);
    expect(own.split('\n').slice(1)).toEqual(reply.content.split('\n').slice(1));
    const edit = w.fake.requests.filter((r) => r.method === 'PATCH' && r.path.includes('/webhooks/')).at(-2);
    expect((edit?.json as { allowed_mentions?: unknown }).allowed_mentions).toEqual({ parse: [] });
  });

  it('amounts are bounded by the registration (Discord enforces it)', async () => {
    const w = await world();
    await expect(
      w.adminCommand(w.admin, 'credits grant', { member: w.member.id, amount: 0 }),
    ).rejects.toThrow(/min_value/);
    await expect(
      w.adminCommand(w.admin, 'credits grant', { member: w.member.id, amount: 1_000_001 }),
    ).rejects.toThrow(/max_value/);
  });
});

describe('/credits', () => {
  it('shows the balance, held credits and the last 10 entries with what each paid for', async () => {
    const w = await world();
    const account = { scope: w.fake.guildId, userId: w.member.id };
    for (let i = 0; i < 12; i++) {
      await w.adminCommand(w.admin, 'credits grant', { member: w.member.id, amount: 1, reason: `gift ${i}` });
    }
    await w.economy.hold({ account, jobId: 'job1', amount: 20, note: 'wavespeed/ray-2-flash 5s' });
    const text = await credits(w);
    expect(text).toContain('You have **92** credits in this server (and **20** held for jobs in progress).');
    const entries = text.split('\n').filter((l) => l.startsWith('`'));
    expect(entries).toHaveLength(10);
    expect(entries[0]).toContain('reserved · wavespeed/ray-2-flash 5s');
    expect(entries[1]).toContain('granted by an admin · gift 11');
    expect(text).not.toContain('gift 2');
  });

  it('keeps DMs their own scope with CREDITS_SCOPE=guild, and one balance with global', async () => {
    const w = await world();
    await w.adminCommand(w.admin, 'credits grant', { member: w.member.id, amount: 50 });
    const dm = await (
      await w.fake.sendCommand({ name: 'credits', user: w.member, inDm: true })
    ).waitForReply();
    expect(dm.content).toContain('You have **100** credits for DMs');

    const g = await world({ creditsScope: 'global' });
    await g.adminCommand(g.admin, 'credits grant', { member: g.member.id, amount: 50 });
    const everywhere = await (
      await g.fake.sendCommand({ name: 'credits', user: g.member, inDm: true })
    ).waitForReply();
    expect(everywhere.content).toContain('You have **150** credits.');
  });
});

describe('/animate-admin allowance', () => {
  it('tops a member up once per period, the current one included, when they next act', async () => {
    const w = await world({ startingCredits: 10 });
    const reply = await w.adminCommand(w.admin, 'allowance', { amount: 50, period: 'day' });
    expect(reply.content).toContain('topped up to 50');
    const first = await credits(w);
    expect(bold(first)).toBe(50);
    // The next top-up is tomorrow, 00:00 UTC, as a Discord timestamp.
    expect(first).toContain(`<t:${Date.UTC(2025, 4, 15) / 1000}:R>`);
    await w.adminCommand(w.admin, 'credits take', { member: w.member.id, amount: 30 });
    w.clock.now += 3_600_000;
    expect(bold(await credits(w))).toBe(20);
    w.clock.now = Date.UTC(2025, 4, 15, 0, 0, 1);
    expect(bold(await credits(w))).toBe(50);
    expect(bold(await credits(w))).toBe(50);
  });

  it('an admin’s credits show does not top the member up for them', async () => {
    const w = await world({ startingCredits: 10 });
    await w.adminCommand(w.admin, 'allowance', { amount: 50, period: 'day' });
    const shown = await w.adminCommand(w.admin, 'credits show', { member: w.member.id });
    expect(bold(shown.content)).toBe(10);
    expect(bold(await credits(w))).toBe(50);
  });

  it('never lowers a balance above the allowance, and 0 turns it off', async () => {
    const w = await world({ startingCredits: 100 });
    await w.adminCommand(w.admin, 'allowance', { amount: 50, period: 'week' });
    expect(bold(await credits(w))).toBe(100);
    expect((await w.adminCommand(w.admin, 'allowance', { amount: 0, period: 'week' })).content).toBe(
      'Allowance turned off.',
    );
    expect((await w.settings.get(w.fake.guildId)).allowance).toBeUndefined();
    expect(await credits(w)).not.toContain('Allowance');
  });
});

describe('/animate-admin cap', () => {
  it('sets the server’s spend cap per period, says what is used and when it resets; 0 removes it', async () => {
    const w = await world();
    const reply = await w.adminCommand(w.admin, 'cap', { amount: 500, period: 'month' });
    expect(reply.content).toContain('at most **500** credits per calendar month');
    expect(reply.content).toContain('0 used so far');
    expect(reply.content).toContain(`<t:${Date.UTC(2025, 5, 1) / 1000}:R>`);
    expect((await w.settings.get(w.fake.guildId)).cap).toEqual({ amount: 500, period: 'month' });
    await w.adminCommand(w.admin, 'cap', { amount: 0, period: 'day' });
    expect((await w.settings.get(w.fake.guildId)).cap).toBeUndefined();
  });
});

describe('/animate-admin channels', () => {
  it('add, list, remove and clear', async () => {
    const w = await world();
    const art = w.fake.addChannel({ name: 'art' });
    const add = await w.adminCommand(w.admin, 'channels', { action: 'add', channel: art.id });
    expect(add.content).toContain(`only in <#${art.id}>`);
    expect((await w.adminCommand(w.admin, 'channels', { action: 'list' })).content).toContain(`<#${art.id}>`);
    await w.adminCommand(w.admin, 'channels', { action: 'remove', channel: art.id });
    expect((await w.settings.get(w.fake.guildId)).channels).toEqual([]);
    await w.adminCommand(w.admin, 'channels', { action: 'add', channel: art.id });
    await w.adminCommand(w.admin, 'channels', { action: 'clear' });
    expect((await w.settings.get(w.fake.guildId)).channels).toEqual([]);
    expect((await w.adminCommand(w.admin, 'channels', { action: 'add' })).content).toContain(
      'Name the `channel`',
    );
  });

  it('refuses /animate outside the list and allows it in a listed channel and its threads', async () => {
    const w = await world();
    const art = w.fake.addChannel({ name: 'art' });
    await w.adminCommand(w.admin, 'channels', { action: 'add', channel: art.id });
    const outside = await w.animate(w.member);
    expect(outside.ephemeral).toBe(true);
    expect(outside.content).toContain(`can be used only in <#${art.id}>`);
    expect(w.quotes).toEqual([]);

    await w.animate(w.member, { channelId: art.id });
    const thread = w.fake.addThread({ parentId: art.id });
    await w.fake.waitFor(() => w.client.channels.cache.get(thread.id));
    await w.animate(w.member, { channelId: thread.id });
    expect(w.quotes).toHaveLength(2);
  });

  it('refuses a 🔁 rerun outside the list, privately, before the engine', async () => {
    const w = await world();
    const art = w.fake.addChannel({ name: 'art' });
    await w.adminCommand(w.admin, 'channels', { action: 'add', channel: art.id });
    w.rerun(w.member);
    const dm = await w.fake.waitFor(() => w.dmsTo(w.member)[0]);
    expect(dm).toContain('Reruns can be used only in');
    expect(w.reruns).toEqual([]);

    // In a result thread under the listed channel, the rerun goes through to the engine.
    const thread = w.fake.addThread({ parentId: art.id });
    w.rerun(w.member, {
      channelId: thread.id,
      job: { channelId: art.id, discord: { attachmentSizeLimit: 1, threadId: thread.id } },
    });
    await w.fake.waitFor(() => w.reruns[0]);
  });
});

describe('/animate-admin models', () => {
  it('disable refuses the model like an unconfigured one, for /animate and 🔁; enable brings it back', async () => {
    const w = await world();
    const off = await w.adminCommand(w.admin, 'models', {
      action: 'disable',
      model: 'wavespeed/ray-2-flash',
    });
    expect(off.content).toContain('`wavespeed/ray-2-flash` off');
    const refused = await w.animate(w.member);
    expect(refused.content).toBe(
      'wavespeed/ray-2-flash is not available in this server. Nothing was charged.',
    );
    await w.animate(w.member, { model: 'fal/ray-2-flash' });
    expect(w.quotes).toEqual([{ userId: w.member.id, model: 'fal/ray-2-flash' }]);

    w.rerun(w.member);
    expect(await w.fake.waitFor(() => w.dmsTo(w.member)[0])).toContain(
      'wavespeed/ray-2-flash is not available in this server, so the rerun was not started.',
    );
    expect(w.reruns).toEqual([]);

    await w.adminCommand(w.admin, 'models', { action: 'enable', model: 'wavespeed/ray-2-flash' });
    const list = await w.adminCommand(w.admin, 'models', { action: 'list' });
    expect(list.content).toContain('`wavespeed/ray-2-flash` on');
  });
});

describe('/animate-admin roles', () => {
  it('with a list, only members with a listed role may use /animate and 🔁', async () => {
    const w = await world();
    const artists = w.fake.addRole({ name: 'artists' });
    const add = await w.adminCommand(w.admin, 'roles', { action: 'add', role: artists.id });
    expect(add.content).toContain(`<@&${artists.id}>`);

    const refused = await w.animate(w.member);
    expect(refused.content).toContain('only for members with one of the roles');
    w.rerun(w.member);
    expect(await w.fake.waitFor(() => w.dmsTo(w.member)[0])).toContain('Reruns are only for members');
    expect(w.quotes).toEqual([]);
    expect(w.reruns).toEqual([]);

    const artist = w.fake.addUser({ username: 'artist' });
    w.fake.giveRole(artist.id, artists.id);
    await w.animate(artist);
    w.rerun(artist);
    await w.fake.waitFor(() => w.reruns[0]);
    expect(w.quotes).toEqual([{ userId: artist.id, model: 'wavespeed/ray-2-flash' }]);

    // The list's own admins are not exempt.
    expect((await w.animate(w.admin)).content).toContain('only for members with one of the roles');

    await w.adminCommand(w.admin, 'roles', { action: 'clear' });
    await w.animate(w.member);
    expect(w.quotes).toHaveLength(2);
  });
});

describe('/animate-admin block and unblock', () => {
  it('a blocked member is refused for /animate and 🔁; unblock lifts it', async () => {
    const w = await world();
    const reply = await w.adminCommand(w.admin, 'block', { member: w.member.id, reason: 'spam' });
    expect(reply.content).toBe(`<@${w.member.id}> may no longer use /animate or reruns in this server.`);
    expect((await w.settings.get(w.fake.guildId)).blocked[w.member.id]).toMatchObject({
      reason: 'spam',
      by: w.admin.id,
    });
    const refused = await w.animate(w.member);
    expect(refused.ephemeral).toBe(true);
    expect(refused.content).toContain('You may not use /animate in this server');
    w.rerun(w.member);
    expect(await w.fake.waitFor(() => w.dmsTo(w.member)[0])).toContain(
      'You may not use /animate or reruns in this server',
    );
    expect(w.quotes).toEqual([]);
    expect(w.reruns).toEqual([]);

    expect((await w.adminCommand(w.admin, 'unblock', { member: w.member.id })).content).toContain(
      'may use /animate again',
    );
    await w.animate(w.member);
    expect(w.quotes).toHaveLength(1);
    expect((await w.adminCommand(w.admin, 'unblock', { member: w.member.id })).content).toContain(
      'was not blocked',
    );
  });

  it('tells a blocked reactor with closed DMs where they reacted, pinging only them', async () => {
    const w = await world();
    await w.adminCommand(w.admin, 'block', { member: w.member.id });
    w.fake.blockDms(w.member.id);
    w.rerun(w.member);
    const notice = await w.fake.waitFor(() =>
      w.fake.messagesIn(w.fake.channelId).find((m) => m.content.includes('may not use /animate')),
    );
    expect(notice.allowed_mentions).toEqual({ parse: [], users: [w.member.id] });
  });
});

describe('/animate-admin limit', () => {
  it('sets the per-member running jobs in this server, 1 to 10', async () => {
    const w = await world();
    expect((await w.adminCommand(w.admin, 'limit', { jobs: 1 })).content).toContain('**1** job at once');
    expect((await w.settings.get(w.fake.guildId)).jobLimit).toBe(1);
    await expect(w.adminCommand(w.admin, 'limit', { jobs: 11 })).rejects.toThrow(/max_value/);
  });
});

describe('/animate-admin blocklist', () => {
  it('a word blocks whole words in any case; a /regex/ matches anywhere; remove lifts it', async () => {
    const w = await world();
    await w.adminCommand(w.admin, 'blocklist', { action: 'add', pattern: 'gore' });
    await w.adminCommand(w.admin, 'blocklist', { action: 'add', pattern: '/blo+d/' });
    const list = await w.adminCommand(w.admin, 'blocklist', { action: 'list' });
    expect(list.content).toContain('`gore`');
    expect(list.content).toContain('`/blo+d/`');

    expect((await w.animate(w.member, { prompt: 'GORE everywhere' })).content).toContain(
      'Your prompt contains something this server does not allow',
    );
    expect((await w.animate(w.member, { prompt: 'bloooody sunset' })).content).toContain('does not allow');
    expect(w.quotes).toEqual([]);
    // Not a whole word: "goredale" is a place, not gore.
    await w.animate(w.member, { prompt: 'a walk in goredale' });
    expect(w.quotes).toHaveLength(1);

    w.rerun(w.member, { job: { request: { ...baseRequest(), prompt: 'gore' } } });
    expect(await w.fake.waitFor(() => w.dmsTo(w.member)[0])).toContain('That prompt contains something');
    expect(w.reruns).toEqual([]);

    await w.adminCommand(w.admin, 'blocklist', { action: 'remove', pattern: 'GORE' });
    await w.animate(w.member, { prompt: 'GORE everywhere' });
    expect(w.quotes).toHaveLength(2);
  });

  it('refuses a malformed regex and says why', async () => {
    const w = await world();
    const reply = await w.adminCommand(w.admin, 'blocklist', { action: 'add', pattern: '/(oops/' });
    expect(reply.content).toContain('not a valid regular expression');
    expect((await w.settings.get(w.fake.guildId)).blocklist).toEqual([]);
  });
});

describe('/animate-admin settings', () => {
  it('shows everything set for this server in one message', async () => {
    const w = await world();
    const art = w.fake.addChannel({ name: 'art' });
    const artists = w.fake.addRole({ name: 'artists' });
    await w.adminCommand(w.admin, 'allowance', { amount: 40, period: 'week' });
    await w.adminCommand(w.admin, 'cap', { amount: 1000, period: 'day' });
    await w.adminCommand(w.admin, 'channels', { action: 'add', channel: art.id });
    await w.adminCommand(w.admin, 'roles', { action: 'add', role: artists.id });
    await w.adminCommand(w.admin, 'models', { action: 'disable', model: 'wavespeed/ray-2' });
    await w.adminCommand(w.admin, 'block', { member: w.member.id });
    await w.adminCommand(w.admin, 'limit', { jobs: 3 });
    await w.adminCommand(w.admin, 'blocklist', { action: 'add', pattern: 'gore' });
    const reply = await w.adminCommand(w.admin, 'settings');
    expect(reply.ephemeral).toBe(true);
    const text = reply.content;
    for (const part of [
      'topped up to **40** once a week',
      '**1000** credits per day',
      `<#${art.id}>`,
      `<@&${artists.id}>`,
      '`wavespeed/ray-2` off',
      `Blocked: <@${w.member.id}>`,
      'Jobs per member: **3**',
      '`gore`',
      'a balance per member in this server',
    ]) {
      expect(text).toContain(part);
    }
    expect(text.length).toBeLessThanOrEqual(2000);
    // Eight changes, eight log lines, each naming the admin, the server and the subcommand.
    expect(adminChanges(w).map((l) => l.subcommand)).toEqual([
      'allowance',
      'cap',
      'channels',
      'roles',
      'models',
      'block',
      'limit',
      'blocklist',
    ]);
    expect(adminChanges(w).every((l) => l.adminId === w.admin.id && l.guildId === w.fake.guildId)).toBe(true);
  });

  it('shows an empty server as such', async () => {
    const w = await world();
    const text = (await w.adminCommand(w.admin, 'settings')).content;
    expect(text).toContain('Allowance: off.');
    expect(text).toContain('Spend cap: none.');
    expect(text).toContain('every channel');
    expect(text).toContain('Every member');
    expect(text).toContain('Blocked: nobody.');
  });
});

function baseRequest() {
  return {
    model: 'wavespeed/ray-2-flash' as const,
    prompt: 'a cat',
    aspectRatio: '16:9' as const,
    durationSeconds: 5 as const,
    image: {
      sourceUrl: 'https://cdn.discordapp.com/attachments/1/2/cat.png',
      filename: 'cat.png',
      contentType: 'image/png',
      bytes: 1234,
      uploads: {},
    },
  };
}
