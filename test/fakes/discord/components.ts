// Button presses (MESSAGE_COMPONENT, type 3) and modal submits (MODAL_SUBMIT, type 5), in the
// shape discord.js reads: a component interaction carries the message its button sits on.
import type { FakeInteraction } from './interaction.js';
import { toApiMessage } from './messages.js';
import { dispatchInteraction, type InteractionPlace } from './slash.js';
import type { World } from './world.js';

export interface SendComponentInput extends InteractionPlace {
  customId: string;
  /** The message the button is on; must exist in the interaction's channel. */
  messageId: string;
}

export interface SendModalInput extends InteractionPlace {
  customId: string;
  /** Text inputs by custom id. */
  fields?: Record<string, string>;
}

export function sendButton(world: World, input: SendComponentInput): Promise<FakeInteraction> {
  return dispatchInteraction(world, input, input.customId, (channel) => ({
    type: 3,
    data: { custom_id: input.customId, component_type: 2 },
    message: toApiMessage(world, world.message(channel.id, input.messageId)),
  }));
}

export function sendModalSubmit(world: World, input: SendModalInput): Promise<FakeInteraction> {
  const components = Object.entries(input.fields ?? {}).map(([customId, value]) => ({
    type: 1,
    components: [{ type: 4, custom_id: customId, value }],
  }));
  return dispatchInteraction(world, input, input.customId, () => ({
    type: 5,
    data: { custom_id: input.customId, components },
  }));
}
