// The fake Discord checks request bodies as strictly as Discord: against Discord's OpenAPI request
// schemas (types, lengths, item counts, required fields, enums) and the limits the spec leaves out.
// Bad bodies go over raw HTTP (discord.js would refuse some of them itself); the valid message with
// embed, buttons and an upload goes through a real discord.js client.
import { readFileSync } from 'node:fs';
import {
  ActionRowBuilder,
  AttachmentBuilder,
  ButtonBuilder,
  ButtonStyle,
  ChannelType,
  Client,
  EmbedBuilder,
  Events,
  GatewayIntentBits,
} from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeDiscord, startFakeDiscord } from './discord/index.js';
import { SPEC_OVERRIDES } from './discord/openapi.js';

let discord: FakeDiscord | undefined;
let client: Client | undefined;

afterEach(async () => {
  await client?.destroy();
  await discord?.close();
  client = undefined;
  discord = undefined;
});

async function start(): Promise<FakeDiscord> {
  discord = await startFakeDiscord();
  return discord;
}

interface Answer {
  status: number;
  body: Record<string, unknown> | undefined;
}

async function send(fake: FakeDiscord, method: string, path: string, body: unknown): Promise<Answer> {
  const res = await fetch(`${fake.apiBase}/v10${path}`, {
    method,
    headers: { authorization: `Bot ${fake.botToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>),
  };
}

const post = (fake: FakeDiscord, body: unknown): Promise<Answer> =>
  send(fake, 'POST', `/channels/${fake.channelId}/messages`, body);

/** Discord's form-error body with one error at `path` (e.g. `['content']`). */
function formError(path: (string | number)[], code: string): Record<string, unknown> {
  let errors: Record<string, unknown> = { _errors: [expect.objectContaining({ code })] };
  for (const key of [...path].reverse()) errors = { [String(key)]: errors };
  return { code: 50035, message: 'Invalid Form Body', errors };
}

const button = (customId: string): Record<string, unknown> => ({
  type: 2,
  style: 1,
  label: customId,
  custom_id: customId,
});
const row = (...components: unknown[]): Record<string, unknown> => ({ type: 1, components });

describe('fake Discord request validation', () => {
  it('rejects content of 2,001 characters with a form error, records it, and stores nothing', async () => {
    const fake = await start();
    const answer = await post(fake, { content: 'x'.repeat(2001) });
    expect(answer).toEqual({ status: 400, body: formError(['content'], 'BASE_TYPE_MAX_LENGTH') });
    expect(fake.rejected).toEqual([
      {
        method: 'POST',
        path: `/api/v10/channels/${fake.channelId}/messages`,
        json: { content: 'x'.repeat(2001) },
        errors: (answer.body as { errors: unknown }).errors,
      },
    ]);
    expect(fake.messagesIn(fake.channelId)).toEqual([]);
    // Exactly 2,000, counted in code points as Discord does, is fine.
    expect((await post(fake, { content: '🎬'.repeat(2000) })).status).toBe(200);
    expect(fake.rejected).toHaveLength(1);
  });

  it('rejects embeds over 6,000 characters in total, each embed within its own limits', async () => {
    const fake = await start();
    const embed = (n: number): Record<string, unknown> => ({
      title: 't'.repeat(256),
      description: 'd'.repeat(2000),
      footer: { text: `footer ${n}` },
      author: { name: 'author' },
      fields: [{ name: 'n'.repeat(256), value: 'v'.repeat(500) }],
    });
    // 2 × 3,032 characters: each embed is valid, the message is not.
    expect((await post(fake, { embeds: [embed(1), embed(2)] })).body).toEqual(
      formError(['embeds'], 'MAX_EMBED_SIZE_EXCEEDED'),
    );
    expect((await post(fake, { embeds: [embed(1)] })).status).toBe(200);
    // One field over the spec's 1,024 limit is reported where it is.
    expect(
      (await post(fake, { embeds: [{ fields: [{ name: 'n', value: 'v'.repeat(1025) }] }] })).body,
    ).toEqual(formError(['embeds', 0, 'fields', 0, 'value'], 'BASE_TYPE_MAX_LENGTH'));
  });

  it('rejects a non-link button without custom_id, but a link button needs a url instead', async () => {
    const fake = await start();
    const noId = { type: 2, style: ButtonStyle.Primary, label: 'Go' };
    expect((await post(fake, { content: 'x', components: [row(noId)] })).body).toEqual(
      formError(['components', 0, 'components', 0, 'custom_id'], 'BASE_TYPE_REQUIRED'),
    );
    const link = { type: 2, style: ButtonStyle.Link, label: 'Docs' };
    expect((await post(fake, { content: 'x', components: [row(link)] })).body).toEqual(
      formError(['components', 0, 'components', 0, 'url'], 'BASE_TYPE_REQUIRED'),
    );
    const linked = { ...link, url: 'https://example.com/docs' };
    expect((await post(fake, { content: 'x', components: [row(linked)] })).status).toBe(200);
  });

  it('rejects 6 action rows, 6 buttons in a row, a custom_id over 100 and a repeated custom_id', async () => {
    const fake = await start();
    const rows = [1, 2, 3, 4, 5, 6].map((i) => row(button(`b${i}`)));
    expect((await post(fake, { content: 'x', components: rows })).body).toEqual(
      formError(['components'], 'BASE_TYPE_MAX_LENGTH'),
    );
    const six = row(...[1, 2, 3, 4, 5, 6].map((i) => button(`b${i}`)));
    expect((await post(fake, { content: 'x', components: [six] })).body).toEqual(
      formError(['components', 0, 'components'], 'BASE_TYPE_MAX_LENGTH'),
    );
    expect((await post(fake, { content: 'x', components: [row(button('c'.repeat(101)))] })).body).toEqual(
      formError(['components', 0, 'components', 0, 'custom_id'], 'BASE_TYPE_MAX_LENGTH'),
    );
    expect(
      (await post(fake, { content: 'x', components: [row(button('a')), row(button('a'))] })).body,
    ).toEqual(formError(['components', 1, 'components', 0, 'custom_id'], 'COMPONENT_CUSTOM_ID_DUPLICATED'));
    expect((await post(fake, { content: 'x', components: rows.slice(0, 5) })).status).toBe(200);
    expect(fake.rejected).toHaveLength(4);
  });

  it('rejects a wrong type, an unknown enum value and a missing required field, where they are', async () => {
    const fake = await start();
    expect((await post(fake, { content: 5 })).body).toEqual(formError(['content'], 'BASE_TYPE_STRING'));
    expect((await post(fake, { content: 'x', tts: 'yes' })).body).toEqual(
      formError(['tts'], 'BASE_TYPE_BOOLEAN'),
    );
    const badType = { ...button('a'), type: 99 };
    const answer = await post(fake, { content: 'x', components: [row(badType)] });
    expect(answer.body).toEqual(formError(['components', 0, 'components', 0, 'type'], 'BASE_TYPE_CHOICES'));
    expect(JSON.stringify(answer.body)).toContain('Value must be one of {2, 3, 5, 6, 7, 8}.');
    expect(
      (await post(fake, { content: 'x', components: [row({ ...button('a'), style: 9 })] })).body,
    ).toEqual(formError(['components', 0, 'components', 0, 'style'], 'BASE_TYPE_CHOICES'));
    expect((await post(fake, { embeds: [{ fields: [{ name: 'no value' }] }] })).body).toEqual(
      formError(['embeds', 0, 'fields', 0, 'value'], 'BASE_TYPE_REQUIRED'),
    );
    expect((await post(fake, { content: 'x', message_reference: { message_id: 'abc' } })).body).toEqual(
      formError(['message_reference', 'message_id'], 'NUMBER_TYPE_COERCE'),
    );
    const status = await post(fake, { content: 'status' });
    const id = String(status.body?.id);
    const thread = await send(fake, 'POST', `/channels/${fake.channelId}/messages/${id}/threads`, {
      auto_archive_duration: 1440,
    });
    expect(thread.body).toEqual(formError(['name'], 'BASE_TYPE_REQUIRED'));
    const archive = await send(fake, 'POST', `/channels/${fake.channelId}/messages/${id}/threads`, {
      name: 'job',
      auto_archive_duration: 1441,
    });
    expect(archive.body).toEqual(formError(['auto_archive_duration'], 'BASE_TYPE_CHOICES'));
    expect(fake.threads).toEqual([]);
  });

  it('checks a multipart upload on its payload_json', async () => {
    const fake = await start();
    const upload = async (payload: unknown): Promise<Answer> => {
      const form = new FormData();
      form.append('payload_json', JSON.stringify(payload));
      form.append('files[0]', new Blob([Buffer.from('png bytes')], { type: 'image/png' }), 'a.png');
      const res = await fetch(`${fake.apiBase}/v10/channels/${fake.channelId}/messages`, {
        method: 'POST',
        headers: { authorization: `Bot ${fake.botToken}` },
        body: form,
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    expect((await upload({ content: 'x'.repeat(2001) })).body).toEqual(
      formError(['content'], 'BASE_TYPE_MAX_LENGTH'),
    );
    expect((await upload({ attachments: [{ filename: 'a.png' }] })).body).toEqual(
      formError(['attachments', 0, 'id'], 'BASE_TYPE_REQUIRED'),
    );
    const ok = await upload({ content: 'here', attachments: [{ id: '0', filename: 'a.png' }] });
    expect(ok.status).toBe(200);
    expect(fake.messagesIn(fake.channelId).map((m) => m.attachments.map((a) => a.filename))).toEqual([
      ['a.png'],
    ]);
  });

  it('checks bodies on every route: callbacks, commands and unknown callback types', async () => {
    const fake = await start();
    const commands = await send(fake, 'PUT', `/applications/${fake.applicationId}/commands`, [
      { name: 'animate', description: 'd'.repeat(101), type: 1 },
    ]);
    expect(commands.body).toEqual(formError([0, 'description'], 'BASE_TYPE_MAX_LENGTH'));
    const callback = await send(fake, 'POST', '/interactions/1/token/callback', { type: 99 });
    expect(callback.body).toEqual(formError(['type'], 'BASE_TYPE_CHOICES'));
    expect(fake.rejected.map((r) => r.method)).toEqual(['PUT', 'POST']);
  });

  it('accepts a valid message with embed, buttons and an attachment from discord.js', async () => {
    const fake = await start();
    const c = new Client({
      intents: [GatewayIntentBits.Guilds],
      rest: { api: fake.apiBase, cdn: fake.cdnBase },
    });
    client = c;
    const ready = new Promise<void>((resolve) => c.once(Events.ClientReady, () => resolve()));
    await c.login(fake.botToken);
    await ready;
    const channel = c.channels.cache.get(fake.channelId);
    if (channel?.type !== ChannelType.GuildText) throw new Error('no text channel');
    const embed = new EmbedBuilder()
      .setTitle('Your video')
      .setDescription('d'.repeat(4096))
      .addFields({ name: 'Model', value: 'ray-2-flash', inline: true })
      .setFooter({ text: 'job 1' })
      .setImage('attachment://still.png')
      .setTimestamp(new Date());
    const buttons = new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder().setCustomId('rerun:1').setLabel('Again').setStyle(ButtonStyle.Primary),
      new ButtonBuilder().setCustomId('delete:1').setLabel('Delete').setStyle(ButtonStyle.Danger),
      new ButtonBuilder().setURL('https://example.com/help').setLabel('Help').setStyle(ButtonStyle.Link),
    );
    const file = new AttachmentBuilder(Buffer.from('png bytes'), {
      name: 'still.png',
      description: 'a still',
    });
    const sent = await channel.send({
      content: 'done',
      embeds: [embed],
      components: [buttons],
      files: [file],
    });
    await sent.edit({ content: 'done (edited)', embeds: [embed], components: [buttons] });
    expect(fake.rejected).toEqual([]);
    const [stored] = fake.messagesIn(fake.channelId);
    expect(stored?.content).toBe('done (edited)');
    expect(stored?.attachments.map((a) => a.filename)).toEqual(['still.png']);
    expect(stored?.components).toHaveLength(1);
    const upload = fake.requests.find((r) => r.method === 'POST' && r.files !== undefined);
    expect(upload?.headers['content-type']).toMatch(/^multipart\/form-data/);
  });

  it('documents every spec override in the vendored spec README', () => {
    const readme = readFileSync(new URL('./discord/spec/README.md', import.meta.url), 'utf8');
    expect(SPEC_OVERRIDES.length).toBeGreaterThan(0);
    for (const o of SPEC_OVERRIDES) expect(readme).toContain(o.property ?? o.schema);
    for (const o of SPEC_OVERRIDES) expect(readme).toContain(o.schema);
  });
});
