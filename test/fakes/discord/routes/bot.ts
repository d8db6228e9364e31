// Bot-token routes about the session and identity: /gateway/bot (where discord.js learns the
// gateway URL), users, the application, DM channels, and plain channel/guild/member fetches.
import { ApiError, bodyObject, ok } from '../http.js';
import { route, type Route } from '../router.js';
import type { World } from '../world.js';

function assertGuild(world: World, id: string | undefined): void {
  if (id === undefined || !world.guildIds().includes(id)) throw new ApiError(404, 10004, 'Unknown Guild');
}

export const botRoutes: Route[] = [
  route('GET', /^\/gateway$/, 'none', ({ world }) => ok({ url: world.gatewayUrl() })),
  route('GET', /^\/gateway\/bot$/, 'bot', ({ world }) =>
    ok({
      url: world.gatewayUrl(),
      shards: world.recommendedShards,
      session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 },
    }),
  ),
  route('GET', /^\/users\/@me$/, 'bot', ({ world }) =>
    ok({ ...world.botUser, verified: true, mfa_enabled: false, flags: 0, email: null, locale: 'en-US' }),
  ),
  route('GET', /^\/users\/(\d+)$/, 'bot', ({ world, params }) => ok(world.user(params[0] ?? ''))),
  route('POST', /^\/users\/@me\/channels$/, 'bot', ({ world, body }) => {
    const recipient = bodyObject(body).recipient_id;
    if (typeof recipient !== 'string') {
      throw new ApiError(400, 50035, 'Invalid Form Body', { recipient_id: { _errors: [] } });
    }
    world.user(recipient);
    return ok(world.dmChannelFor(recipient));
  }),
  route('GET', /^\/applications\/@me$/, 'bot', ({ world }) =>
    ok({
      id: world.botUser.id,
      name: world.botUser.username,
      icon: null,
      description: '',
      summary: '',
      type: null,
      bot_public: true,
      bot_require_code_grant: false,
      verify_key: '0'.repeat(64),
      flags: 0,
      team: null,
      owner: world.owner,
      bot: world.botUser,
      approximate_guild_count: 1,
      integration_types_config: { '0': {} },
    }),
  ),
  route('GET', /^\/channels\/(\d+)$/, 'bot', ({ world, params }) => ok(world.channel(params[0] ?? ''))),
  route('GET', /^\/guilds\/(\d+)$/, 'bot', ({ world, params }) => {
    assertGuild(world, params[0]);
    const {
      members: _m,
      channels: _c,
      threads: _t,
      presences: _p,
      voice_states: _v,
      ...guild
    } = world.guildPayload(params[0]);
    return ok(guild);
  }),
  route('GET', /^\/guilds\/(\d+)\/members\/(\d+)$/, 'bot', ({ world, params }) => {
    assertGuild(world, params[0]);
    const user = world.users.get(params[1] ?? '');
    if (user === undefined) throw new ApiError(404, 10007, 'Unknown Member');
    return ok(world.member(user));
  }),
];
