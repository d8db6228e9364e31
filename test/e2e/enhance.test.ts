// `/animate enhance` end to end: the real bot and discord.js against the fake Discord (commands
// registered, so the option is checked against the definition) and the fake WaveSpeed's prompt
// optimizer. The rewrite is what the provider gets and the card shows, for one more credit; a
// failed optimizer means the member's own prompt and the credit back; reruns reuse the prompt
// used without the optimizer or its credit; a bot without a WaveSpeed key refuses the option; a
// bot killed while following the optimizer follows the same task after its restart.
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredMessage } from '../fakes/discord/index.js';
import { visibleText } from '../fakes/discord/visible.js';
import type { HookedRequest } from '../fakes/wavespeed.js';
import { REWRITE_SUFFIX } from '../fakes/wavespeed/optimizer.js';
import { registerCommands } from './admin.js';
import { startChildWorld, type ChildWorld } from './child.js';
import {
  closeChecked,
  creditsOf,
  resultMessage,
  results,
  startWorld,
  WS_KEY,
  type World,
} from './harness.js';

let world: World | undefined;
let child: ChildWorld | undefined;
afterEach(async () => {
  await closeChecked(world);
  world = undefined;
  await child?.close();
  child = undefined;
});

const ENHANCE = { name: 'enhance', type: 5, value: true };
const PROMPT = 'the cat slowly blinks';
const REWRITTEN = `${PROMPT}${REWRITE_SUFFIX}`;

const statusOf = (w: World): StoredMessage | undefined => w.discord.messagesIn(w.discord.channelId)[0];
const statusText = (w: World): string => visibleText(statusOf(w));
const promptSent = (w: World, n: number): string | undefined =>
  (w.wavespeed.submissions[n]?.body as { prompt?: string } | undefined)?.prompt;
const buttonId = (m: StoredMessage | undefined, action: string): string =>
  (m?.components ?? [])
    .flatMap((row) => (row as { components?: { custom_id?: string }[] }).components ?? [])
    .map((c) => c.custom_id ?? '')
    .find((id) => id.startsWith(`v1:${action}:`)) ?? '';

describe('/animate enhance:true', () => {
  it('rewrites the prompt first, shows and submits the rewrite, charges one more credit; a rerun reuses it without the optimizer or its credit', async () => {
    world = await startWorld();
    const w = world;
    await registerCommands(w);
    const reply = await (await w.animate({ prompt: PROMPT, options: [ENHANCE] })).waitForReply();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toContain('21 credits reserved');

    const result = await resultMessage(w);
    // The optimizer got the member's prompt, video mode and the image the video submit used.
    expect(w.wavespeed.optimizer.submissions).toHaveLength(1);
    expect(w.wavespeed.optimizer.submissions[0]?.body).toStrictEqual({
      text: PROMPT,
      mode: 'video',
      image: w.wavespeed.uploads[0]?.url,
    });
    expect(w.wavespeed.optimizer.submissions[0]?.headers.authorization).toBe(`Bearer ${WS_KEY}`);
    expect(w.wavespeed.submissions).toHaveLength(1);
    expect(promptSent(w, 0)).toBe(REWRITTEN);
    expect(w.wavespeed.submissions[0]?.body).toMatchObject({ image: w.wavespeed.uploads[0]?.url });
    expect(result.content).toContain(REWRITTEN);

    await w.discord.waitFor(() => statusText(w).includes('Done'));
    const card = statusText(w);
    expect(card).toContain(`> ${REWRITTEN}`);
    expect(card).toContain(`Rewritten by the prompt enhancer from yours: “${PROMPT}”`);
    expect(card).toContain('21 credits (1 for the prompt enhancer)');
    expect(await creditsOf(w)).toBe(79);
    expect(w.logs.some((l) => l.includes('"msg":"prompt enhancer used"') && l.includes('"jobId"'))).toBe(
      true,
    );

    // Edit & rerun offers the prompt that was used.
    const opened = await w.discord.pressButton({
      user: w.member,
      customId: buttonId(result, 'edit'),
      messageId: result.id,
      channelId: result.channel_id,
    });
    await w.discord.waitFor(() => opened.callbacks.length > 0);
    expect(JSON.stringify(opened.callbacks[0]?.data)).toContain(`"value":"${REWRITTEN}"`);

    // Rerun: the same prompt, no second optimizer run, the model's price only.
    const rerun = await (
      await w.discord.pressButton({
        user: w.member,
        customId: buttonId(result, 'rerun'),
        messageId: result.id,
        channelId: result.channel_id,
      })
    ).waitForReply(5000);
    expect(rerun.content).toContain('Rerun accepted: 20 credits reserved, 59 left.');
    await w.discord.waitFor(() => results(w).length === 2, 10_000);
    expect(promptSent(w, 1)).toBe(REWRITTEN);
    // And 🔁 on the first result does the same (another member: reruns have a per-member cooldown).
    const fan = w.discord.addUser({ username: 'fan' });
    w.discord.react({ user: fan, channelId: result.channel_id, messageId: result.id, emoji: '🔁' });
    await w.discord.waitFor(() => results(w).length === 3, 10_000);
    expect(promptSent(w, 2)).toBe(REWRITTEN);
    expect(w.wavespeed.optimizer.submissions).toHaveLength(1);
    expect(await creditsOf(w)).toBe(79 - 20);
    expect(await creditsOf(w, fan)).toBe(80);
  });

  it('uses the member’s own prompt when the optimizer fails, charges only the model’s price and says so on the card', async () => {
    world = await startWorld();
    const w = world;
    await registerCommands(w);
    w.wavespeed.optimizer.nextOutcome({ fail: true, error: 'optimizer overloaded' });
    const reply = await (await w.animate({ prompt: PROMPT, options: [ENHANCE] })).waitForReply();
    expect(reply.content).toContain('21 credits reserved');

    const result = await resultMessage(w);
    expect(w.wavespeed.optimizer.submissions).toHaveLength(1);
    expect(w.wavespeed.submissions).toHaveLength(1);
    expect(promptSent(w, 0)).toBe(PROMPT);
    expect(result.content).toContain(PROMPT);
    expect(result.content).not.toContain(REWRITE_SUFFIX);
    await w.discord.waitFor(() => statusText(w).includes('Done'));
    const card = statusText(w);
    expect(card).toContain(`> ${PROMPT}`);
    expect(card).toContain('Prompt enhancer unavailable; your own prompt was used and 1 credit refunded.');
    expect(card).toContain('Price: 20 credits');
    expect(card).not.toContain('for the prompt enhancer');
    expect(await creditsOf(w)).toBe(80);
    expect(
      w.logs.some(
        (l) => l.includes("prompt enhancer failed; using the member's own prompt") && l.includes('"jobId"'),
      ),
    ).toBe(true);
    // The credit came back as its own ledger line.
    const statement = await (await w.discord.sendCommand({ name: 'credits', user: w.member })).waitForReply();
    expect(statement.content).toContain('prompt enhancer unavailable');
  });

  it('uses the member’s own prompt when the optimizer’s output cannot be used, and never submits it twice after a 5xx', async () => {
    world = await startWorld();
    const w = world;
    w.wavespeed.optimizer.nextOutcome({ output: 42 });
    await (await w.animate({ prompt: PROMPT, options: [ENHANCE] })).waitForReply();
    await resultMessage(w);
    expect(promptSent(w, 0)).toBe(PROMPT);
    expect(await creditsOf(w)).toBe(80);

    // A 5xx may have created the task: it is not sent again, and the member's prompt runs.
    w.wavespeed.optimizer.failSubmit({ status: 500, createTask: true });
    await (await w.animate({ prompt: 'a dog wags', options: [ENHANCE] })).waitForReply();
    await w.discord.waitFor(
      () => w.logs.filter((l) => l.includes('"msg":"job delivered"')).length === 2,
      10_000,
    );
    expect(promptSent(w, 1)).toBe('a dog wags');
    expect(w.wavespeed.optimizer.submissions).toHaveLength(2);
    expect(w.wavespeed.optimizer.tasks.size).toBe(2); // the 5xx one exists, and was left alone
    expect(await creditsOf(w)).toBe(60);
  });
});

describe('/animate enhance without a WaveSpeed key', () => {
  it('is refused privately like an unsupported option, and nothing is charged or sent', async () => {
    world = await startWorld({ WAVESPEED_API_KEY: '' });
    const w = world;
    await registerCommands(w);
    const reply = await (await w.animate({ prompt: PROMPT, options: [ENHANCE] })).waitForReply();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toContain('fal/ray-2-flash does not support `enhance`');
    expect(reply.content).toContain('Nothing was charged.');
    expect(w.logs.some((l) => l.includes('"code":"unsupported_option"'))).toBe(true);
    expect(w.wavespeed.optimizer.submissions).toHaveLength(0);
    expect(w.fal.submissions).toHaveLength(0);
    expect(w.discord.messagesIn(w.discord.channelId)).toHaveLength(0);
    expect(await creditsOf(w)).toBe(100);
    // Without the option the same bot runs the job on fal.
    const fine = await (await w.animate({ prompt: PROMPT })).waitForReply();
    expect(fine.content).toContain('Accepted: 20 credits reserved');
  });
});

describe('a restart while the optimizer runs', () => {
  it('follows the same optimizer task after a SIGKILL: one optimizer submit, the rewrite delivered once, 21 credits charged', async () => {
    const w = (child = await startChildWorld());
    await w.start();
    let killed: HookedRequest | undefined;
    // Killed on the first poll of the optimizer's task: its id is on the record by then.
    const off = w.wavespeed.onRequest('GET', /^\/api\/v3\/predictions\/opt-/, async (request) => {
      if (killed) return;
      killed = request;
      await w.kill9();
    });
    await w.animate({ prompt: PROMPT, options: [ENHANCE] });
    await w.waitFor(() => killed, 15_000);
    off();
    expect(w.wavespeed.optimizer.submissions).toHaveLength(1);
    expect(w.wavespeed.submissions).toHaveLength(0);

    await w.restart();
    await w.waitFor(() => w.threadMessages().some((m) => m.content.includes('your video is ready')), 20_000);
    const taskId = w.wavespeed.optimizer.submissions[0]?.taskId;
    expect(w.wavespeed.optimizer.submissions).toHaveLength(1);
    expect(new Set(w.wavespeed.optimizer.polls.map((p) => p.id))).toStrictEqual(new Set([taskId]));
    expect(w.wavespeed.optimizer.polls.length).toBeGreaterThanOrEqual(2);
    expect(w.wavespeed.submissions).toHaveLength(1);
    expect((w.wavespeed.submissions[0]?.body as { prompt?: string }).prompt).toBe(REWRITTEN);
    expect(w.threadMessages().filter((m) => m.content.includes('your video is ready'))).toHaveLength(1);
    await w.waitFor(() => w.logs().some((l) => l.msg === 'job delivered'));
    expect(await w.credits()).toMatchObject({ balance: 79, held: 0, charged: 1 });
  }, 40_000);
});
