// What a person reads in a message: its content and its embeds' title, description, fields and
// footer, as one text, for tests that look for words wherever the bot put them.
import type { StoredMessage } from './index.js';

interface EmbedText {
  title?: string;
  description?: string;
  fields?: { name?: string; value?: string }[];
  footer?: { text?: string };
}

export function visibleText(message: StoredMessage | undefined): string {
  if (!message) return '';
  const embeds = (message.embeds as EmbedText[]).flatMap((e) => [
    e.title ?? '',
    e.description ?? '',
    ...(e.fields ?? []).map((f) => `${f.name ?? ''}: ${f.value ?? ''}`),
    e.footer?.text ?? '',
  ]);
  return [message.content, ...embeds].filter(Boolean).join('\n');
}
