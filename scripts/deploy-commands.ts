// `npm run deploy-commands`: registers the slash commands over REST once, globally or in
// DISCORD_GUILD_ID, and exits. The bot itself never re-registers on start.
import { resolve } from 'node:path';
import { REST, Routes } from 'discord.js';
import { commands } from '../src/commands/index.js';
import { ConfigError, loadConfig } from '../src/config.js';

try {
  const config = loadConfig(process.env, resolve('.env'));
  const rest = new REST({ version: '10', api: config.DISCORD_API_URL }).setToken(config.DISCORD_TOKEN);
  // A guild command exists only in its server: `contexts` and `integration_types` are for global
  // commands only (discord-api-types leaves them out of the guild body), so they are not sent there.
  const body = config.DISCORD_GUILD_ID
    ? commands.map(({ data: { contexts: _c, integration_types: _i, ...rest } }) => rest)
    : commands.map((c) => c.data);
  const route = config.DISCORD_GUILD_ID
    ? Routes.applicationGuildCommands(config.DISCORD_CLIENT_ID, config.DISCORD_GUILD_ID)
    : Routes.applicationCommands(config.DISCORD_CLIENT_ID);
  await rest.put(route, { body });
  const where = config.DISCORD_GUILD_ID ? `guild ${config.DISCORD_GUILD_ID}` : 'globally';
  process.stdout.write(
    `Registered ${body.length} commands ${where}: ${body.map((c) => `/${c.name}`).join(', ')}\n`,
  );
} catch (error) {
  const reason =
    error instanceof ConfigError ? error.message : error instanceof Error ? error.message : String(error);
  process.stderr.write(`deploy-commands: ${reason}\n`);
  process.exitCode = 1;
}
