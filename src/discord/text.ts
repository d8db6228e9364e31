// Message text: every string the bot sends to Discord is built here and kept inside Discord's
// limits, however long the prompt.
import { promptOf } from '../engine/enhance.js';
import { MODELS } from '../providers/catalog.js';
import type { JobRecord } from '../store/jobs.js';

export const LIMITS = { content: 2000, threadName: 100 } as const;

/** Cuts `text` to at most `max` UTF-16 units (the stricter way to count), never inside a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = '';
  for (const char of text) {
    if (out.length + char.length > max - 1) break;
    out += char;
  }
  return `${out}…`;
}

/** A prompt shown inside a message: one quoted block, cut short, with no way to break out of it. */
export function quotePrompt(prompt: string, max = 300): string {
  const flat = truncate(prompt.replace(/\s+/g, ' ').trim(), max);
  return `> ${flat}`;
}

export function threadName(prompt: string): string {
  const flat = prompt.replace(/\s+/g, ' ').trim();
  return truncate(flat === '' ? 'animate' : flat, LIMITS.threadName);
}

/** A line no member can type into a prompt by accident, used to find our own posts again. */
export function marker(jobId: string, kind: 'status' | 'result' | 'failure'): string {
  return `-# ${kind} · job ${jobId}`;
}

/** The job id in one of our result messages, read back from its marker line. */
export function resultMarkerJobId(content: string): string | undefined {
  return /^-# result · job ([A-Za-z0-9_-]{6,32})$/m.exec(content)?.[1];
}

/** A failed-over job: which provider ran it and what it cost against the quote. */
export function movedNote(job: JobRecord): string {
  const from = MODELS[job.failover?.from ?? job.request.model].provider;
  const to = MODELS[job.runModel].provider;
  const quoted = job.failover?.quotedPrice ?? job.price;
  const cost =
    job.price < quoted
      ? `${job.price} credits instead of the ${quoted} quoted (the difference is refunded)`
      : `the ${job.price} credits quoted`;
  return `${from} was down, so ${to} ran it for ${cost}`;
}

export function resultText(job: JobRecord, opts: { url?: string; spoiler: boolean }): string {
  const lines = [`<@${job.userId}> your video is ready.`, quotePrompt(promptOf(job), 200)];
  if (opts.spoiler) lines.push('⚠️ Content warning: the provider flagged this video as possibly sensitive.');
  if (opts.url) lines.push(opts.spoiler ? `||${opts.url}||` : opts.url);
  lines.push('Press Rerun (or react with 🔁) to run it again, charged to whoever asks.');
  return withMarker(lines.join('\n'), marker(job.id, 'result'));
}

export function failureText(job: JobRecord, text: string): string {
  return withMarker(`<@${job.userId}> ${text}`, marker(job.id, 'failure'));
}

/** The marker is how a restarted bot finds its posts: cut the body, never the marker. */
function withMarker(body: string, mark: string): string {
  return `${truncate(body, LIMITS.content - mark.length - 1)}\n${mark}`;
}
