// The status card (one embed with a Cancel button while the job is in progress), the buttons
// under a result, the edit-and-rerun modal and the /jobs list. Pure builders: what to show comes
// from the job record and a CardView the caller fills in; nothing here talks to Discord.
// Every text a member wrote is escaped and cut so each message stays inside Discord's limits.
// See docs/discord.md, "The status card and its buttons".
import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  Colors,
  EmbedBuilder,
  LabelBuilder,
  ModalBuilder,
  TextInputBuilder,
  TextInputStyle,
  TimestampStyles,
  escapeMarkdown,
  time,
} from 'discord.js';
import { promptOf } from '../engine/enhance.js';
import { ENHANCE_PRICE, MODELS } from '../providers/catalog.js';
import type { JobRecord } from '../store/jobs.js';
import { customId } from './custom-ids.js';
import { marker, truncate } from './text.js';

export const CARD_PHASES = [
  'waiting',
  'enhancing',
  'queued',
  'rendering',
  'fetching',
  'done',
  'failed',
  'cancelled',
] as const;
export type CardPhase = (typeof CARD_PHASES)[number];

/** What the card shows that the job record does not say by itself. */
export interface CardView {
  phase: CardPhase;
  /** 1-based, as a member reads it: the place in our line (waiting) or in the provider's queue (queued). */
  position?: number;
  /** When the video is likely ready (ms since the epoch); shown only while the job is in progress. */
  expectedFinishAt?: number;
  /** When the provider started on it (ms); defaults to the record's progress.submittedAt. */
  startedAt?: number;
  /** The member's balance once this job's price is taken. */
  balanceAfter?: number;
  /** A picture for the card: the input image in the provider's storage, or its attachment URL. */
  thumbnailUrl?: string;
  /** Where the finished video is (a message link), for a done card. */
  resultUrl?: string;
  /** One more sentence: a failover note, the failure sentence, why it was cancelled. */
  note?: string;
  /** The time the card is drawn at (ms), for the rendering progress; defaults to Date.now(). */
  now?: number;
}

/** A message body for channel.send / message.edit / interaction replies. */
export interface CardMessage {
  content: string;
  embeds: EmbedBuilder[];
  components: ActionRowBuilder<ButtonBuilder>[];
}

/** Discord's limits on an embed and on message components. */
export const EMBED_LIMITS = {
  title: 256,
  description: 4096,
  fieldValue: 1024,
  footer: 2048,
  total: 6000,
} as const;
export const ROWS_MAX = 5;
export const BUTTONS_PER_ROW = 5;
/** The most jobs /jobs can list, one Cancel button each. */
export const JOBS_LIST_MAX = ROWS_MAX * BUTTONS_PER_ROW;
/** The longest prompt a member can type (the /animate option and the modal). */
export const PROMPT_MAX = 2000;

const IN_PROGRESS: ReadonlySet<CardPhase> = new Set([
  'waiting',
  'enhancing',
  'queued',
  'rendering',
  'fetching',
]);
export const isInProgress = (phase: CardPhase): boolean => IN_PROGRESS.has(phase);

// --- text a member wrote, made safe to show ---------------------------------------------------

/**
 * Member text as one line of plain text: no markdown (bold, code, spoilers, links, headings,
 * quotes, subtext), no mentions (a zero-width space after every @, so `@everyone` and `<@id>`
 * stay text), and at most `max` characters after escaping.
 */
export function plainLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const escape = (s: string) =>
    escapeMarkdown(s, { heading: true, bulletedList: true, numberedList: true, maskedLink: true })
      .replace(/^(>|-#)/, '\\$1')
      .replaceAll('@', '@\u200b');
  let cut = Math.min(flat.length, max);
  let out = escape(truncate(flat, cut));
  // Escaping lengthens the text: cut the source shorter (never the escaped text, which could
  // split an escape) until it fits.
  while (out.length > max && cut > 1) {
    cut = Math.min(cut - 1, Math.floor((cut * max) / out.length));
    out = escape(truncate(flat, Math.max(cut, 1)));
  }
  return out;
}

// --- the request, in words ----------------------------------------------------------------------

function sizeText(job: JobRecord): string {
  const r = job.request;
  const [w = 0, h = 0] = r.aspectRatio.split(':').map(Number);
  const shape = w > h ? 'landscape' : w < h ? 'portrait' : 'square';
  return [`${shape} ${r.aspectRatio}`, ...(r.resolution ? [r.resolution] : [])].join(' · ');
}

function durationText(job: JobRecord): string {
  const r = job.request;
  // fal has no 10 s run: it makes (and bills) 9 s, see falDurationSeconds.
  const fal10 = MODELS[job.runModel].provider === 'fal' && r.durationSeconds === 10;
  return [`${r.durationSeconds} s${fal10 ? ' (fal makes 9 s)' : ''}`, ...(r.loop ? ['loop'] : [])].join(
    ' · ',
  );
}

function priceText(job: JobRecord): string {
  const quoted = job.failover?.quotedPrice;
  const was = quoted !== undefined && quoted > job.price ? ` (was ${quoted})` : '';
  // Once the enhancer failed its credit is back: the line under the prompt says so.
  const enhancer =
    job.request.enhance && job.enhance?.state !== 'failed'
      ? ` (${ENHANCE_PRICE} for the prompt enhancer)`
      : '';
  return `${job.price} credits${was}${enhancer}`;
}

/** Under the prompt: where it came from when the enhancer rewrote it, or why it did not. */
function enhancerLine(job: JobRecord): string | undefined {
  switch (job.enhance?.state) {
    case 'used':
      return `-# ✨ Rewritten by the prompt enhancer from yours: “${plainLine(job.request.prompt, ENHANCER_FROM_MAX)}”`;
    case 'failed':
      return `-# Prompt enhancer unavailable; your own prompt was used and ${ENHANCE_PRICE} credit refunded.`;
    default:
      return undefined;
  }
}

// --- phase, progress and timing -----------------------------------------------------------------

/** The phase in a few words, with the place in line or in the provider's queue. */
export function phaseTitle(view: Pick<CardView, 'phase' | 'position'>): string {
  const at = (word: string) => (view.position === undefined ? '' : ` · ${word} ${view.position}`);
  switch (view.phase) {
    case 'waiting':
      return `⏳ Waiting in line${at('place')}`;
    case 'enhancing':
      return '✨ Enhancing your prompt';
    case 'queued':
      return `🕒 In the provider’s queue${at('position')}`;
    case 'rendering':
      return '🎞️ Rendering';
    case 'fetching':
      return '📥 Fetching the video';
    case 'done':
      return '✅ Done';
    case 'failed':
      return '❌ Failed';
    case 'cancelled':
      return '🛑 Cancelled';
  }
}

function phaseSentence(view: CardView): string | undefined {
  switch (view.phase) {
    case 'waiting':
      return 'It starts as soon as there is room.';
    case 'enhancing':
      return 'The prompt enhancer is rewriting your prompt; the video starts right after.';
    case 'queued':
      return 'The provider has it and starts it shortly.';
    case 'rendering':
      return 'The video is being made.';
    case 'fetching':
      return 'Almost there: bringing the video over.';
    case 'done': {
      const url = webUrl(view.resultUrl);
      return url ? `Your video is ready: [watch it here](${url}).` : 'Your video is ready.';
    }
    case 'failed':
    case 'cancelled':
      return undefined;
  }
}

const COLOURS: Record<CardPhase, number> = {
  waiting: Colors.Grey,
  enhancing: Colors.Fuchsia,
  queued: Colors.Blurple,
  rendering: Colors.Blue,
  fetching: Colors.Aqua,
  done: Colors.Green,
  failed: Colors.Red,
  cancelled: Colors.DarkGrey,
};

/**
 * How far along the job is, 0 to 1: waiting 0, enhancing 0.05, queued 0.1 to 0.3 (nearer the front, further
 * along), rendering 0.3 to 0.9 by the time since the provider started against the expected
 * finish, fetching 0.9, done 1. Undefined for a job that ended without a video.
 */
export function progressFraction(job: JobRecord, view: CardView): number | undefined {
  switch (view.phase) {
    case 'waiting':
      return 0;
    case 'enhancing':
      return 0.05;
    case 'queued':
      return view.position === undefined ? 0.1 : 0.1 + 0.2 / Math.max(1, view.position);
    case 'rendering': {
      const start = view.startedAt ?? job.progress?.submittedAt;
      const end = view.expectedFinishAt;
      if (start === undefined || end === undefined || end <= start) return 0.3;
      const done = ((view.now ?? Date.now()) - start) / (end - start);
      return 0.3 + 0.6 * Math.min(1, Math.max(0, done));
    }
    case 'fetching':
      return 0.9;
    case 'done':
      return 1;
    case 'failed':
    case 'cancelled':
      return undefined;
  }
}

const BAR_CELLS = 10;

/** `▰▰▰▱▱▱▱▱▱▱ 30%`: filled cells are whole tenths reached, never rounded up. */
export function progressBar(fraction: number): string {
  const f = Math.min(1, Math.max(0, fraction));
  const filled = Math.floor(f * BAR_CELLS + 1e-9);
  return `${'▰'.repeat(filled)}${'▱'.repeat(BAR_CELLS - filled)} ${Math.round(f * 100)}%`;
}

function finishLine(view: CardView): string | undefined {
  if (!isInProgress(view.phase) || view.expectedFinishAt === undefined) return undefined;
  const when = time(Math.round(view.expectedFinishAt / 1000), TimestampStyles.RelativeTime);
  const late = view.expectedFinishAt < (view.now ?? Date.now());
  return late ? `⏱️ Taking a little longer than usual (expected ${when})` : `⏱️ Ready ${when}`;
}

function urlWith(url: string | undefined, protocols: readonly string[]): string | undefined {
  if (url === undefined || /[\s()<>]/.test(url)) return undefined;
  try {
    return protocols.includes(new URL(url).protocol) ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Only http(s) and attachment URLs: the builder throws on anything else, and a card must not. */
function imageUrl(url: string | undefined): string | undefined {
  return urlWith(url, ['https:', 'http:', 'attachment:']);
}

/** A link that cannot break out of its markdown `[text](url)`. */
function webUrl(url: string | undefined): string | undefined {
  return urlWith(url, ['https:']);
}

// --- the status card ----------------------------------------------------------------------------

const CARD_PROMPT_MAX = 1500;
/** The member's own words under a rewritten prompt. */
const ENHANCER_FROM_MAX = 300;
const CARD_NOTE_MAX = 600;

/** The note under the progress: the caller's, else the failure sentence of a failed job. */
function noteFor(job: JobRecord, view: CardView): string | undefined {
  const note = view.note ?? (view.phase === 'failed' ? job.failure?.message : undefined);
  return note === undefined || note.trim() === '' ? undefined : plainLine(note, CARD_NOTE_MAX);
}

function cancelButton(jobId: string, label = 'Cancel'): ButtonBuilder {
  return new ButtonBuilder()
    .setCustomId(customId('cancel', jobId))
    .setLabel(label)
    .setStyle(ButtonStyle.Secondary);
}

/**
 * The status message: the requester named (not pinged: send it with `allowedMentions: { parse:
 * [] }`), the marker line restarts look for, and one embed. A Cancel button while the job is in
 * progress; no components once it ended, so an edit with this body removes the button.
 */
export function statusCard(job: JobRecord, view: CardView): CardMessage {
  const content = `🎬 <@${job.userId}>${job.rerunOf ? ' · 🔁 rerun' : ''}\n${marker(job.id, 'status')}`;

  const fraction = progressFraction(job, view);
  const enhancer = enhancerLine(job);
  const description = [
    // The prompt the video is made from: the enhancer's rewrite once it was used.
    `> ${plainLine(promptOf(job), CARD_PROMPT_MAX)}`,
    ...(enhancer ? [enhancer] : []),
    '',
    ...[
      phaseSentence(view),
      fraction === undefined ? undefined : progressBar(fraction),
      finishLine(view),
      noteFor(job, view),
    ].filter((line): line is string => line !== undefined),
  ].join('\n');

  const fields = [
    { name: 'Model', value: MODELS[job.runModel].label, inline: true },
    { name: 'Size', value: sizeText(job), inline: true },
    { name: 'Duration', value: durationText(job), inline: true },
    { name: 'Price', value: priceText(job), inline: true },
    ...(view.balanceAfter === undefined
      ? []
      : [{ name: 'Balance after', value: `${view.balanceAfter} credits`, inline: true }]),
  ];

  const embed = new EmbedBuilder()
    .setColor(COLOURS[view.phase])
    .setTitle(phaseTitle(view))
    .setDescription(description)
    .addFields(fields)
    .setFooter({ text: `Job ${job.id}${job.rerunOf ? ` · rerun of ${job.rerunOf}` : ''}` })
    .setTimestamp(job.createdAt);
  const thumbnail = imageUrl(view.thumbnailUrl);
  if (thumbnail) embed.setThumbnail(thumbnail);

  const components = isInProgress(view.phase)
    ? [new ActionRowBuilder<ButtonBuilder>().addComponents(cancelButton(job.id))]
    : [];
  return { content, embeds: [embed], components };
}

// --- under a result -----------------------------------------------------------------------------

/** The buttons under a result message: run it again as it was, with a new prompt, or delete it. */
export function resultComponents(jobId: string): ActionRowBuilder<ButtonBuilder> {
  return new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder()
      .setCustomId(customId('rerun', jobId))
      .setLabel('Rerun')
      .setEmoji('🔁')
      .setStyle(ButtonStyle.Primary),
    new ButtonBuilder()
      .setCustomId(customId('edit', jobId))
      .setLabel('Edit & rerun')
      .setEmoji('✏️')
      .setStyle(ButtonStyle.Secondary),
    new ButtonBuilder()
      .setCustomId(customId('delete', jobId))
      .setLabel('Delete')
      .setEmoji('🗑️')
      .setStyle(ButtonStyle.Danger),
  );
}

/** The start of `text` in at most `max` UTF-16 units, never splitting a surrogate pair; no ellipsis. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = '';
  for (const char of text) {
    if (out.length + char.length > max) break;
    out += char;
  }
  return out;
}

/** The modal behind "Edit & rerun": the job's prompt, ready to change. Read it back as field `prompt`. */
export function editRerunModal(job: JobRecord): ModalBuilder {
  const input = new TextInputBuilder()
    .setCustomId('prompt')
    .setStyle(TextInputStyle.Paragraph)
    .setMinLength(1)
    .setMaxLength(PROMPT_MAX)
    .setRequired(true);
  // A prefill longer than the input allows is refused by Discord; an empty one by the builder.
  // The prompt the job ran with (the enhancer's rewrite, when used), ready to change.
  const prefill = cut(promptOf(job), PROMPT_MAX);
  if (prefill !== '') input.setValue(prefill);
  return new ModalBuilder()
    .setCustomId(customId('editsubmit', job.id))
    .setTitle('Edit & rerun')
    .addLabelComponents(
      new LabelBuilder()
        .setLabel('Prompt')
        .setDescription('Same picture and settings, new prompt. It runs on your credits.')
        .setTextInputComponent(input),
    );
}

// --- /jobs --------------------------------------------------------------------------------------

/** Room for the entries in the list's description (Discord allows 4,096). */
const LIST_BUDGET = 4000;
const LIST_PROMPT_MIN = 20;
const LIST_PROMPT_MAX = 200;
const LIST_SEPARATOR = '\n\n';

/** One job in the list, around its prompt line: `[before the prompt, after it]`. */
function listEntryParts(n: number, job: JobRecord, view: CardView): [string, string] {
  const finish =
    isInProgress(view.phase) && view.expectedFinishAt !== undefined
      ? ` · ready ${time(Math.round(view.expectedFinishAt / 1000), TimestampStyles.RelativeTime)}`
      : '';
  return [
    `**${n}.** ${phaseTitle(view)}${finish}\n> `,
    `\n-# ${MODELS[job.runModel].label} · ${job.price} credits`,
  ];
}

/**
 * The member's waiting and running jobs for /jobs (send it ephemeral): one numbered entry each,
 * and a `Cancel` button per job in the same order (the contract names the label exactly). At
 * most 25 (5 rows of 5 buttons); the rest are counted, not shown.
 */
export function jobsList(jobs: ReadonlyArray<{ job: JobRecord; view: CardView }>): CardMessage {
  if (jobs.length === 0) {
    return {
      content: 'You have no jobs waiting or running right now. Start one with `/animate`.',
      embeds: [],
      components: [],
    };
  }
  const shown = jobs.slice(0, JOBS_LIST_MAX);
  const hidden = jobs.length - shown.length;
  // The prompts share what the rest of the entries leave of the budget.
  const parts = shown.map(({ job, view }, i) => listEntryParts(i + 1, job, view));
  const fixed = parts.reduce((n, [before, after]) => n + before.length + after.length, 0);
  const room = LIST_BUDGET - fixed - LIST_SEPARATOR.length * (shown.length - 1);
  const promptMax = Math.max(LIST_PROMPT_MIN, Math.min(LIST_PROMPT_MAX, Math.floor(room / shown.length)));
  const entries = shown.map(
    ({ job }, i) => `${parts[i]?.[0] ?? ''}${plainLine(promptOf(job), promptMax)}${parts[i]?.[1] ?? ''}`,
  );
  const embed = new EmbedBuilder()
    .setColor(Colors.Blurple)
    .setTitle(jobs.length === 1 ? 'Your job in progress' : `Your ${jobs.length} jobs in progress`)
    .setDescription(truncate(entries.join(LIST_SEPARATOR), EMBED_LIMITS.description));
  if (hidden > 0) embed.setFooter({ text: `${hidden} more not shown here: cancel some to see the rest.` });

  const buttons = shown.flatMap(({ job, view }) => (isInProgress(view.phase) ? [cancelButton(job.id)] : []));
  const components: ActionRowBuilder<ButtonBuilder>[] = [];
  for (let i = 0; i < buttons.length; i += BUTTONS_PER_ROW) {
    components.push(
      new ActionRowBuilder<ButtonBuilder>().addComponents(buttons.slice(i, i + BUTTONS_PER_ROW)),
    );
  }
  return { content: '', embeds: [embed], components };
}
