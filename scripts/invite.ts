// `npm run invite`: prints the URL that adds the bot to a server, with exactly the permissions in
// src/discord/permissions.ts, and each permission with what it is for. Needs DISCORD_CLIENT_ID
// only (from the environment or .env): no token, nothing sent anywhere.
import { resolve } from 'node:path';
import { ConfigError, settingsSchema, loadSettings } from '../src/config.js';
import { BOT_PERMISSIONS, inviteUrl } from '../src/discord/permissions.js';

try {
  const { DISCORD_CLIENT_ID } = loadSettings(
    settingsSchema.pick({ DISCORD_CLIENT_ID: true }),
    process.env,
    resolve('.env'),
  );
  const entries = Object.values(BOT_PERMISSIONS);
  const width = Math.max(...entries.map((p) => p.label.length));
  const lines = [
    inviteUrl(DISCORD_CLIENT_ID),
    '',
    `Permissions (${entries.length}):`,
    ...entries.map((p) => `  ${p.label.padEnd(width)}  ${p.why}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} catch (error) {
  const reason = error instanceof Error ? error.message : String(error);
  process.stderr.write(`invite: ${error instanceof ConfigError ? reason : `failed: ${reason}`}\n`);
  process.exitCode = 1;
}
