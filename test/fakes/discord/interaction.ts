// One slash-command interaction as the fake tracks it: its token, the callbacks the bot sent,
// the @original message and follow-ups, and a way to wait for the visible reply.
import { isRecord } from './http.js';
import { MessageFlag } from './messages.js';
import type { FakeUser, StoredMessage } from './types.js';
import { waitFor } from './wait.js';

export interface InteractionCallback {
  type: number;
  data: Record<string, unknown> | undefined;
  at: number;
}

export interface ReplySummary {
  content: string;
  flags: number;
  embeds: Record<string, unknown>[];
  ephemeral: boolean;
}

export interface InteractionInit {
  id: string;
  token: string;
  applicationId: string;
  commandName: string;
  channelId: string;
  guildId: string | undefined;
  user: FakeUser;
  attachmentSizeLimit: number;
}

export class FakeInteraction {
  readonly id: string;
  readonly token: string;
  readonly applicationId: string;
  readonly commandName: string;
  readonly channelId: string;
  readonly guildId: string | undefined;
  readonly user: FakeUser;
  readonly attachmentSizeLimit: number;
  readonly receivedAt = Date.now();
  readonly callbacks: InteractionCallback[] = [];
  readonly followups: StoredMessage[] = [];
  /** Set by the fake when the @original message is created or deleted. */
  originalMessage: StoredMessage | undefined;
  /** True once PATCH @original has been applied. */
  originalEdited = false;
  expired = false;

  constructor(init: InteractionInit) {
    this.id = init.id;
    this.token = init.token;
    this.applicationId = init.applicationId;
    this.commandName = init.commandName;
    this.channelId = init.channelId;
    this.guildId = init.guildId;
    this.user = init.user;
    this.attachmentSizeLimit = init.attachmentSizeLimit;
  }

  original(): StoredMessage | undefined {
    return this.originalMessage;
  }

  /** Resolves once the person would see a reply: an initial callback and, after a deferral, a filled-in @original. */
  waitForReply(timeoutMs = 5000): Promise<ReplySummary> {
    return waitFor(
      () => this.reply(),
      timeoutMs,
      () =>
        `interaction ${this.commandName}: callbacks=${JSON.stringify(this.callbacks.map((c) => c.type))}, original=${JSON.stringify(this.originalMessage?.content)}`,
    );
  }

  private reply(): ReplySummary | undefined {
    const first = this.callbacks[0];
    if (first === undefined) return undefined;
    const m = this.originalMessage;
    if (first.type === 5) {
      const filled = m !== undefined && (m.content !== '' || m.embeds.length > 0 || m.attachments.length > 0);
      if (!this.originalEdited || !filled) return undefined;
    }
    if (m !== undefined) {
      return {
        content: m.content,
        flags: m.flags,
        embeds: m.embeds,
        ephemeral: (m.flags & MessageFlag.Ephemeral) !== 0,
      };
    }
    const data = first.data ?? {};
    const flags = typeof data.flags === 'number' ? data.flags : 0;
    return {
      content: typeof data.content === 'string' ? data.content : '',
      flags,
      embeds: Array.isArray(data.embeds) ? data.embeds.filter(isRecord) : [],
      ephemeral: (flags & MessageFlag.Ephemeral) !== 0,
    };
  }
}
