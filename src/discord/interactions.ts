// Routes slash commands to their handlers and owns what every handler shares: timing, logging
// and turning any error into the one reply a person sees (user errors as they are; anything
// unexpected as a generic line with an error id that the log line carries too). Interactions
// nothing handles (a command, button or modal the bot no longer has) still get an answer within
// Discord's 3 s, or the member sees "This interaction failed".
import { randomBytes } from 'node:crypto';
import {
  Events,
  MessageFlags,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type ModalSubmitInteraction,
  type Client,
  type Interaction,
} from 'discord.js';
import type { Command, CommandDeps } from '../commands/types.js';
import { failureMessage, isRefusal } from '../failures.js';
import { AckQueue } from './ack-first.js';
import { acknowledge, componentTarget, runComponent } from './components.js';
import { parseCustomId } from './custom-ids.js';

export function routeInteractions(client: Client, commands: readonly Command[], given: CommandDeps): void {
  const byName = new Map(commands.map((c) => [c.data.name, c]));
  const deps = { ...given, acks: given.acks ?? new AckQueue() };
  client.on(Events.InteractionCreate, (interaction) => {
    // Numbered on arrival; whatever the handler does, its end counts as answered (ack-first.ts).
    deps.acks.received(interaction.id);
    void handle(interaction).finally(() => deps.acks.answered(interaction.id));
  });

  function handle(interaction: Interaction): Promise<void> {
    if (deps.stopping?.()) return answerRestarting(interaction, deps);
    const command = interaction.isChatInputCommand() ? byName.get(interaction.commandName) : undefined;
    if (command && interaction.isChatInputCommand()) return run(command, interaction, deps);
    if (interaction.isButton() || interaction.isModalSubmit()) return runButton(interaction, deps);
    return answerStale(interaction, deps);
  }
}

/** A button or modal of ours (docs/discord.md, "The status card and its buttons"); anything else is stale. */
async function runButton(interaction: ButtonInteraction | ModalSubmitInteraction, deps: CommandDeps) {
  const started = Date.now();
  // Fields for each line rather than a child logger: a child costs its bindings' redaction up
  // front, on the way to the acknowledgement, even when no line is written.
  const at = { customId: interaction.customId, userId: interaction.user.id };
  try {
    // Acknowledge first, unless the answer must be a modal (Edit & rerun) or the id is not ours.
    const parsed = parseCustomId(interaction.customId);
    if (parsed && parsed.action !== 'edit') await acknowledge(interaction, deps);
    const target = await componentTarget(interaction, deps);
    if (!target) return await answerStale(interaction, deps);
    await runComponent(interaction, target, deps);
    deps.log.info({ ...at, ms: Date.now() - started }, 'component done');
  } catch (error) {
    const errorId = randomBytes(4).toString('hex');
    deps.log.error({ ...at, err: error, errorId }, 'component failed');
    const content = failureMessage({ code: 'internal', errorId });
    const allowedMentions = { parse: [] };
    await (
      interaction.deferred || interaction.replied
        ? interaction.editReply({ content, allowedMentions })
        : interaction.reply({ content, allowedMentions, flags: MessageFlags.Ephemeral })
    ).catch((e: unknown) => deps.log.warn({ ...at, err: e }, 'could not answer the interaction'));
  }
}

/** While shutting down (docs/operations.md, "Restarts"): nothing new starts, nothing is charged. */
async function answerRestarting(interaction: Interaction, deps: CommandDeps): Promise<void> {
  if (interaction.isAutocomplete()) return void (await interaction.respond([]).catch(() => undefined));
  if (!interaction.isRepliable()) return;
  deps.log.info({ type: interaction.type, userId: interaction.user.id }, 'interaction refused: restarting');
  await interaction
    .reply({
      content: failureMessage({ code: 'restarting' }),
      flags: MessageFlags.Ephemeral,
      allowedMentions: { parse: [] },
    })
    .catch((error: unknown) =>
      deps.log.warn({ err: error }, 'could not answer an interaction while restarting'),
    );
}

async function answerStale(interaction: Interaction, deps: CommandDeps): Promise<void> {
  // Autocomplete cannot carry a message; an empty list is its "nothing here".
  if (interaction.isAutocomplete()) {
    await interaction.respond([]).catch(() => undefined);
    return;
  }
  if (!interaction.isRepliable()) return;
  const what = interaction.isCommand()
    ? { command: interaction.commandName }
    : interaction.isMessageComponent() || interaction.isModalSubmit()
      ? { customId: interaction.customId }
      : {};
  deps.log.info({ ...what, type: interaction.type, userId: interaction.user.id }, 'stale interaction');
  const content = failureMessage({ code: 'stale_interaction' });
  const allowedMentions = { parse: [] };
  // A button of ours acknowledged before its job was looked up, and found gone.
  await (
    interaction.deferred
      ? interaction.editReply({ content, allowedMentions })
      : interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions })
  ).catch((error: unknown) => deps.log.warn({ err: error }, 'could not answer a stale interaction'));
}

async function run(
  command: Command,
  interaction: ChatInputCommandInteraction,
  deps: CommandDeps,
): Promise<void> {
  const started = Date.now();
  const at = {
    command: interaction.commandName,
    userId: interaction.user.id,
    interactionId: interaction.id,
  };
  try {
    await command.execute(interaction, deps);
    deps.log.info({ ...at, ms: Date.now() - started }, 'command done');
  } catch (error) {
    let content: string;
    if (isRefusal(error)) {
      content = error.message;
      deps.log.info({ ...at, code: error.code, ms: Date.now() - started }, 'command refused');
    } else {
      const errorId = randomBytes(4).toString('hex');
      content = `${failureMessage({ code: 'internal', errorId })} Nothing was charged.`;
      deps.log.error({ ...at, err: error, errorId }, 'command failed');
    }
    await answer(interaction, content).catch((e: unknown) =>
      deps.log.warn({ ...at, err: e }, 'could not answer the interaction'),
    );
  }
}

function answer(interaction: ChatInputCommandInteraction, content: string): Promise<unknown> {
  const allowedMentions = { parse: [] };
  if (interaction.deferred || interaction.replied) return interaction.editReply({ content, allowedMentions });
  return interaction.reply({ content, allowedMentions, flags: MessageFlags.Ephemeral });
}
