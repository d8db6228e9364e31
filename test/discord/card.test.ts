// The status card, the result buttons, the edit-and-rerun modal and the /jobs list, as Discord
// receives them (toJSON): exact labels and customIds, the components only while a job can still
// be cancelled, the progress per phase, member text escaped, and every limit kept.
import type { APIEmbed } from 'discord.js';
import { describe, expect, it } from 'vitest';
import {
  CARD_PHASES,
  type CardPhase,
  type CardView,
  editRerunModal,
  EMBED_LIMITS,
  jobsList,
  plainLine,
  progressBar,
  progressFraction,
  resultComponents,
  statusCard,
} from '../../src/discord/card.js';
import { parseCustomId } from '../../src/discord/custom-ids.js';
import type { JobRecord } from '../../src/store/jobs.js';
import { makeJob as makeJobFixture } from '../fixtures/job.js';

const ID = 'Ab3_x-9QzKp0Lw';
const NOW = 1_700_000_000_000;

const makeJob = (overrides: Parameters<typeof makeJobFixture>[0] = {}): JobRecord =>
  makeJobFixture({
    id: ID,
    state: 'submitted',
    progress: { phase: 'running', submittedAt: NOW - 30_000, polls: 2 },
    ...overrides,
  });

const withPrompt = (prompt: string, overrides: Partial<JobRecord> = {}): JobRecord => {
  const base = makeJob(overrides);
  return { ...base, request: { ...base.request, prompt } };
};

/** 2,000 characters of markdown, mentions, code and emoji: the worst a member can type. */
function nastyPrompt(n = 2000): string {
  const pieces = [
    '**bold** ',
    '@everyone ',
    '<@123456789012345678> ',
    '`code` ',
    '```js\nx```',
    '||spoiler|| ',
  ];
  const more = [
    '__u__ ',
    '~~s~~ ',
    '[link](https://evil.example) ',
    '# heading\n',
    '> quote\n',
    '-# sub\n',
    '😀',
  ];
  const all = [...pieces, ...more];
  let out = '';
  for (let i = 0; out.length < n; i++) out += all[i % all.length];
  return [...out].slice(0, n).join('').slice(0, n);
}

function embedLength(e: APIEmbed): number {
  return (
    (e.title?.length ?? 0) +
    (e.description?.length ?? 0) +
    (e.footer?.text.length ?? 0) +
    (e.author?.name.length ?? 0) +
    (e.fields ?? []).reduce((n, f) => n + f.name.length + f.value.length, 0)
  );
}

const view = (phase: CardPhase, more: Partial<CardView> = {}): CardView => ({ phase, now: NOW, ...more });
const IN_PROGRESS: CardPhase[] = ['waiting', 'enhancing', 'queued', 'rendering', 'fetching'];
const ENDED: CardPhase[] = ['done', 'failed', 'cancelled'];

function render(job: JobRecord, v: CardView) {
  const card = statusCard(job, v);
  const [embed] = card.embeds.map((e) => e.toJSON());
  if (!embed) throw new Error('no embed');
  return { content: card.content, embed, components: card.components.map((r) => r.toJSON()) };
}

describe('statusCard', () => {
  it('keeps the marker line restarts look for, and names the requester', () => {
    const { content } = render(makeJob(), view('rendering'));
    expect(content.split('\n')).toEqual(['🎬 <@200000000000000001>', `-# status · job ${ID}`]);
  });

  it('says a rerun is a rerun', () => {
    const { content, embed } = render(makeJob({ rerunOf: 'Zz9_y-8QzKp0Lw' }), view('waiting'));
    expect(content).toContain('🔁 rerun');
    expect(embed.footer?.text).toContain('Zz9_y-8QzKp0Lw');
  });

  it.each(IN_PROGRESS)('has exactly one Cancel button while %s', (phase) => {
    const { components } = render(makeJob(), view(phase));
    expect(components).toEqual([
      { type: 1, components: [{ type: 2, style: 2, label: 'Cancel', custom_id: `v1:cancel:${ID}` }] },
    ]);
    expect(parseCustomId(`v1:cancel:${ID}`)).toEqual({ action: 'cancel', jobId: ID });
  });

  it.each(ENDED)('has no components once %s (so an edit removes the button)', (phase) => {
    const card = statusCard(makeJob(), view(phase));
    expect(card.components).toEqual([]);
  });

  it('shows the model, size, duration, price and balance after', () => {
    const { embed } = render(makeJob({ price: 20 }), view('queued', { balanceAfter: 80 }));
    expect(embed.fields).toEqual([
      { name: 'Model', value: 'Luma Ray 2 Flash (WaveSpeed)', inline: true },
      { name: 'Size', value: 'landscape 16:9', inline: true },
      { name: 'Duration', value: '5 s', inline: true },
      { name: 'Price', value: '20 credits', inline: true },
      { name: 'Balance after', value: '80 credits', inline: true },
    ]);
  });

  it('leaves out the balance when it is not known', () => {
    const { embed } = render(makeJob(), view('queued'));
    expect(embed.fields?.map((f) => f.name)).not.toContain('Balance after');
  });

  it('describes a fal job: portrait, resolution, loop, 10 s made as 9 s', () => {
    const base = makeJob({ model: 'fal/ray-2-flash', price: 72 });
    const job = {
      ...base,
      request: { ...base.request, aspectRatio: '9:21', resolution: '720p', durationSeconds: 10, loop: true },
    } satisfies JobRecord;
    const { embed } = render(job, view('rendering'));
    const fields = Object.fromEntries((embed.fields ?? []).map((f) => [f.name, f.value]));
    expect(fields).toMatchObject({
      Model: 'Luma Ray 2 Flash (fal)',
      Size: 'portrait 9:21 · 720p',
      Duration: '10 s (fal makes 9 s) · loop',
      Price: '72 credits',
    });
  });

  it('shows the model that ran a failed-over job, and the lower price against the quote', () => {
    const job = makeJob({
      model: 'wavespeed/ray-2-flash',
      runModel: 'fal/ray-2-flash',
      price: 20,
      failover: { from: 'wavespeed/ray-2-flash', quotedPrice: 36 },
    });
    const note = 'wavespeed was down, so fal ran it.';
    const { embed } = render(job, view('rendering', { note }));
    expect(embed.fields?.find((f) => f.name === 'Model')?.value).toBe('Luma Ray 2 Flash (fal)');
    expect(embed.fields?.find((f) => f.name === 'Price')?.value).toBe('20 credits (was 36)');
    expect(embed.description).toContain(note);
  });

  it.each([
    ['waiting', { position: 3 }, '⏳ Waiting in line · place 3'],
    ['waiting', {}, '⏳ Waiting in line'],
    ['enhancing', {}, '✨ Enhancing your prompt'],
    ['queued', { position: 2 }, '🕒 In the provider’s queue · position 2'],
    ['rendering', {}, '🎞️ Rendering'],
    ['fetching', {}, '📥 Fetching the video'],
    ['done', {}, '✅ Done'],
    ['failed', {}, '❌ Failed'],
    ['cancelled', {}, '🛑 Cancelled'],
  ] as const)('titles %s %j as %s', (phase, more, title) => {
    expect(render(makeJob(), view(phase, more)).embed.title).toBe(title);
  });

  it.each(CARD_PHASES)('has a colour while %s', (phase) => {
    expect(render(makeJob(), view(phase)).embed.color).toEqual(expect.any(Number));
  });

  describe('the expected finish', () => {
    const at = NOW + 90_000;
    const stamp = `<t:${Math.round(at / 1000)}:R>`;

    it.each(IN_PROGRESS)('is a relative timestamp while %s', (phase) => {
      const { embed } = render(makeJob(), view(phase, { expectedFinishAt: at }));
      expect(embed.description).toContain(`⏱️ Ready ${stamp}`);
    });

    it.each(ENDED)('is not shown once %s', (phase) => {
      const { embed } = render(makeJob(), view(phase, { expectedFinishAt: at }));
      expect(embed.description).not.toMatch(/<t:\d+:R>/);
    });

    it('is not shown when nobody knows it', () => {
      expect(render(makeJob(), view('rendering')).embed.description).not.toContain('<t:');
    });

    it('owns up to running late instead of saying "ready 2 minutes ago"', () => {
      const late = NOW - 120_000;
      const { embed } = render(makeJob(), view('rendering', { expectedFinishAt: late }));
      expect(embed.description).toContain(
        `Taking a little longer than usual (expected <t:${late / 1000}:R>)`,
      );
      expect(embed.description).not.toContain('Ready <t:');
    });
  });

  describe('the progress bar', () => {
    const bar = (phase: CardPhase, more: Partial<CardView> = {}, job = makeJob()) =>
      /[▰▱]{10} \d+%/.exec(render(job, view(phase, more)).embed.description ?? '')?.[0];

    it('is empty while waiting and full when done', () => {
      expect(bar('waiting')).toBe('▱▱▱▱▱▱▱▱▱▱ 0%');
      expect(bar('done')).toBe('▰▰▰▰▰▰▰▰▰▰ 100%');
    });

    it('is 10–30% in the provider’s queue, further along nearer the front', () => {
      expect(bar('queued')).toBe('▰▱▱▱▱▱▱▱▱▱ 10%');
      expect(bar('queued', { position: 4 })).toBe('▰▱▱▱▱▱▱▱▱▱ 15%');
      expect(bar('queued', { position: 1 })).toBe('▰▰▰▱▱▱▱▱▱▱ 30%');
    });

    it('moves from 30% to 90% while rendering, by the time since the provider started', () => {
      const job = makeJob({ progress: { phase: 'running', submittedAt: NOW - 30_000, polls: 2 } });
      expect(bar('rendering', { expectedFinishAt: NOW + 30_000 }, job)).toBe('▰▰▰▰▰▰▱▱▱▱ 60%');
      expect(bar('rendering', { expectedFinishAt: NOW }, job)).toBe('▰▰▰▰▰▰▰▰▰▱ 90%');
      expect(bar('rendering', { expectedFinishAt: NOW - 60_000, startedAt: NOW - 90_000 }, job)).toBe(
        '▰▰▰▰▰▰▰▰▰▱ 90%',
      );
      expect(bar('rendering', { expectedFinishAt: NOW + 60_000, startedAt: NOW }, job)).toBe(
        '▰▰▰▱▱▱▱▱▱▱ 30%',
      );
    });

    it('stays at 30% while rendering when it cannot tell', () => {
      expect(bar('rendering')).toBe('▰▰▰▱▱▱▱▱▱▱ 30%');
      expect(bar('rendering', { expectedFinishAt: NOW + 1000 }, makeJob({ progress: undefined }))).toBe(
        '▰▰▰▱▱▱▱▱▱▱ 30%',
      );
    });

    it('is 90% while fetching', () => {
      expect(bar('fetching')).toBe('▰▰▰▰▰▰▰▰▰▱ 90%');
    });

    it.each(['failed', 'cancelled'] as const)('is not shown once %s', (phase) => {
      expect(bar(phase)).toBeUndefined();
      expect(progressFraction(makeJob(), view(phase))).toBeUndefined();
    });

    it('never fills a cell it has not reached', () => {
      expect(progressBar(0.29)).toBe('▰▰▱▱▱▱▱▱▱▱ 29%');
      expect(progressBar(0.3)).toBe('▰▰▰▱▱▱▱▱▱▱ 30%');
      expect(progressBar(1.5)).toBe('▰▰▰▰▰▰▰▰▰▰ 100%');
      expect(progressBar(-1)).toBe('▱▱▱▱▱▱▱▱▱▱ 0%');
    });
  });

  it('shows the thumbnail, and drops one that is not an http(s) or attachment URL', () => {
    const url = 'https://v3.fal.media/files/cat.png';
    expect(render(makeJob(), view('queued', { thumbnailUrl: url })).embed.thumbnail).toEqual({ url });
    expect(
      render(makeJob(), view('queued', { thumbnailUrl: 'attachment://cat.png' })).embed.thumbnail,
    ).toEqual({
      url: 'attachment://cat.png',
    });
    expect(
      render(makeJob(), view('queued', { thumbnailUrl: 'javascript:alert(1)' })).embed.thumbnail,
    ).toBeUndefined();
    expect(render(makeJob(), view('queued', { thumbnailUrl: 'not a url' })).embed.thumbnail).toBeUndefined();
  });

  it('says where the video is when done', () => {
    const resultUrl = 'https://discord.com/channels/1/2/3';
    expect(render(makeJob(), view('done', { resultUrl })).embed.description).toContain(
      `[watch it here](${resultUrl})`,
    );
    expect(render(makeJob(), view('done')).embed.description).toContain('Your video is ready.');
    const sneaky = 'https://x.example/a) [click](https://evil.example';
    expect(render(makeJob(), view('done', { resultUrl: sneaky })).embed.description).not.toContain('evil');
  });

  it('shows the failure sentence of a failed job, or the caller’s note', () => {
    const job = makeJob({
      state: 'refunded',
      failure: { code: 'provider', message: 'The provider could not make it.' },
    });
    expect(render(job, view('failed')).embed.description).toContain('The provider could not make it.');
    expect(render(job, view('failed', { note: 'Refunded in full.' })).embed.description).toContain(
      'Refunded in full.',
    );
  });

  describe('a prompt full of markdown and mentions', () => {
    it('is escaped: no bold, no code, no pings, no links', () => {
      const job = withPrompt(
        '**loud** `rm -rf` ```block``` @everyone @here <@123> [x](https://evil.example) ||s||',
      );
      const description = render(job, view('rendering')).embed.description ?? '';
      const line = description.split('\n')[0];
      expect(line).toBe(
        '> \\*\\*loud\\*\\* \\`rm -rf\\` \\`\\`\\`block\\`\\`\\` @\u200beveryone @\u200bhere <@\u200b123> ' +
          '\\[x](https://evil.example) \\|\\|s\\|\\|',
      );
      expect(description).not.toMatch(/@(everyone|here)/);
      expect(description).not.toMatch(/<@\d/);
    });

    it.each([
      ['# Big', '> \\# Big'],
      ['-# small', '> \\-# small'],
      ['> again', '> \\> again'],
      ['1. first', '> 1\\. first'],
      ['- item', '> \\- item'],
      ['one\n# two\n-# three', '> one # two -# three'],
    ])(
      'cannot start a heading, a subtext line, a second quote or a list, or add lines: %j',
      (prompt, shown) => {
        const description = render(withPrompt(prompt), view('waiting')).embed.description ?? '';
        const [first, second] = description.split('\n');
        expect(first).toBe(shown);
        expect(second).toBe('');
      },
    );

    it('keeps the whole embed well within the limits for a 2,000-character prompt', () => {
      const job = withPrompt(nastyPrompt(), {
        rerunOf: 'Zz9_y-8QzKp0Lw',
        failure: { code: 'provider', message: `Prompt flagged: ${nastyPrompt()}` },
      });
      expect(job.request.prompt.length).toBe(2000);
      for (const phase of CARD_PHASES) {
        const { embed, content } = render(
          job,
          view(phase, {
            position: 12,
            expectedFinishAt: NOW + 5000,
            balanceAfter: 1_000_000,
            note: nastyPrompt(),
          }),
        );
        expect(embed.description?.length).toBeLessThanOrEqual(EMBED_LIMITS.description);
        expect(embedLength(embed)).toBeLessThanOrEqual(EMBED_LIMITS.total);
        expect(embedLength(embed)).toBeLessThan(4000);
        expect(embed.title?.length).toBeLessThanOrEqual(EMBED_LIMITS.title);
        for (const f of embed.fields ?? [])
          expect(f.value.length).toBeLessThanOrEqual(EMBED_LIMITS.fieldValue);
        expect(embed.description).not.toMatch(/@everyone/);
        expect(content.length).toBeLessThan(100);
      }
    });
  });
});

describe('the prompt enhancer on the card', () => {
  const enhanced = (enhance: JobRecord['enhance'], price = 21): JobRecord => {
    const base = withPrompt('a cat blinks', { price, ...(enhance ? { enhance } : {}) });
    return { ...base, request: { ...base.request, enhance: true } };
  };
  const rewrite = 'a cat blinks slowly, **golden** light';

  it('says it is enhancing, with the credit in the price, and the member’s prompt until the rewrite', () => {
    const { embed } = render(enhanced({ state: 'submitted', taskId: 'opt-1' }), view('enhancing'));
    expect(embed.description?.split('\n')[0]).toBe('> a cat blinks');
    expect(embed.description).toContain('The prompt enhancer is rewriting your prompt');
    expect(embed.fields?.find((f) => f.name === 'Price')?.value).toBe(
      '21 credits (1 for the prompt enhancer)',
    );
  });

  it('shows the rewrite it used, escaped, and the member’s own words under it', () => {
    const { embed } = render(enhanced({ state: 'used', prompt: rewrite }), view('rendering'));
    const [prompt, from] = embed.description?.split('\n') ?? [];
    expect(prompt).toBe('> a cat blinks slowly, \\*\\*golden\\*\\* light');
    expect(from).toBe('-# ✨ Rewritten by the prompt enhancer from yours: “a cat blinks”');
  });

  it('says kindly that the member’s own prompt ran and the credit came back', () => {
    const { embed } = render(enhanced({ state: 'failed', reason: 'timeout' }, 20), view('done'));
    expect(embed.description?.split('\n')[0]).toBe('> a cat blinks');
    expect(embed.description).toContain(
      '-# Prompt enhancer unavailable; your own prompt was used and 1 credit refunded.',
    );
    expect(embed.fields?.find((f) => f.name === 'Price')?.value).toBe('20 credits');
  });

  it('prefills Edit & rerun and lists /jobs with the prompt used', () => {
    const job = enhanced({ state: 'used', prompt: rewrite });
    expect(JSON.stringify(editRerunModal(job).toJSON())).toContain(`"value":"${rewrite}"`);
    expect(jobsList([{ job, view: view('rendering') }]).embeds[0]?.toJSON().description).toContain('golden');
  });
});

describe('plainLine', () => {
  it('fits the escaped text into the budget however much escaping it needs', () => {
    for (const max of [10, 50, 300, 1500]) {
      expect(plainLine('*'.repeat(2000), max).length).toBeLessThanOrEqual(max);
      expect(plainLine('@'.repeat(2000), max).length).toBeLessThanOrEqual(max);
      expect(plainLine(nastyPrompt(), max).length).toBeLessThanOrEqual(max);
    }
  });

  it('never leaves a lone surrogate', () => {
    const out = plainLine('😀'.repeat(1000), 101);
    expect(out).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
  });

  it('leaves a short plain prompt as it is', () => {
    expect(plainLine('a cat walks across the table', 300)).toBe('a cat walks across the table');
  });
});

describe('resultComponents', () => {
  it('is one row: Rerun, Edit & rerun, Delete', () => {
    const row = resultComponents(ID).toJSON();
    expect(row.type).toBe(1);
    expect(row.components.map((b) => ('label' in b ? b.label : undefined))).toEqual([
      'Rerun',
      'Edit & rerun',
      'Delete',
    ]);
    expect(row.components.map((b) => ('custom_id' in b ? b.custom_id : undefined))).toEqual([
      `v1:rerun:${ID}`,
      `v1:edit:${ID}`,
      `v1:delete:${ID}`,
    ]);
  });
});

describe('editRerunModal', () => {
  it('is titled Edit & rerun, and holds one required paragraph input "prompt" prefilled with the prompt', () => {
    const modal = editRerunModal(withPrompt('a cat **jumps**')).toJSON();
    expect(modal.title).toBe('Edit & rerun');
    expect(modal.custom_id).toBe(`v1:editsubmit:${ID}`);
    expect(modal.components).toHaveLength(1);
    const [label] = modal.components;
    expect(label).toMatchObject({
      type: 18,
      label: 'Prompt',
      component: {
        type: 4,
        custom_id: 'prompt',
        style: 2,
        min_length: 1,
        max_length: 2000,
        required: true,
        value: 'a cat **jumps**',
      },
    });
  });

  it('keeps the title within Discord’s 45 characters and the customId parseable', () => {
    const modal = editRerunModal(makeJob()).toJSON();
    expect(modal.title.length).toBeLessThanOrEqual(45);
    expect(parseCustomId(modal.custom_id)).toEqual({ action: 'editsubmit', jobId: ID });
  });

  it('prefills a 2,000-character emoji prompt without going over the input’s limit', () => {
    const modal = editRerunModal(withPrompt('😀'.repeat(1500))).toJSON();
    const value = JSON.stringify(modal.components[0]).match(/"value":"([^"]*)"/)?.[1] ?? '';
    expect(value.length).toBeLessThanOrEqual(2000);
    expect(value.length).toBeGreaterThan(1990);
  });
});

describe('jobsList', () => {
  const entry = (i: number, phase: CardPhase = 'rendering', more: Partial<CardView> = {}) => {
    const job = { ...makeJob(), id: `job${String(i).padStart(11, '0')}` };
    return { job, view: view(phase, { expectedFinishAt: NOW + 60_000 + i * 1000, ...more }) };
  };

  function renderList(items: ReturnType<typeof entry>[]) {
    const list = jobsList(items);
    return {
      content: list.content,
      embeds: list.embeds.map((e) => e.toJSON()),
      components: list.components.map((r) => r.toJSON()),
    };
  }

  it('says so kindly when there is nothing', () => {
    const list = renderList([]);
    expect(list.content).toBe('You have no jobs waiting or running right now. Start one with `/animate`.');
    expect(list.embeds).toEqual([]);
    expect(list.components).toEqual([]);
  });

  it('lists each job with its phase, prompt, model and expected finish, and one Cancel each', () => {
    const items = [entry(1, 'waiting', { position: 2 }), entry(2, 'rendering')];
    const { embeds, components } = renderList(items);
    const description = embeds[0]?.description ?? '';
    expect(description).toContain('**1.** ⏳ Waiting in line · place 2 · ready <t:');
    expect(description).toContain('**2.** 🎞️ Rendering · ready <t:');
    expect(description).toContain('> a cat walks across the table');
    expect(description).toContain('Luma Ray 2 Flash (WaveSpeed)');
    expect(description).toContain(`<t:${Math.round((NOW + 62_000) / 1000)}:R>`);
    expect(components).toEqual([
      {
        type: 1,
        components: [
          { type: 2, style: 2, label: 'Cancel', custom_id: 'v1:cancel:job00000000001' },
          { type: 2, style: 2, label: 'Cancel', custom_id: 'v1:cancel:job00000000002' },
        ],
      },
    ]);
  });

  it('shows 25 jobs in 5 rows of 5, and counts the rest', () => {
    const items = Array.from({ length: 31 }, (_, i) => entry(i + 1));
    const { embeds, components } = renderList(items);
    expect(components).toHaveLength(5);
    for (const row of components) expect(row.components).toHaveLength(5);
    const ids = components.flatMap((r) => r.components.map((b) => ('custom_id' in b ? b.custom_id : '')));
    expect(new Set(ids).size).toBe(25);
    expect(ids.at(-1)).toBe('v1:cancel:job00000000025');
    expect(embeds[0]?.footer?.text).toBe('6 more not shown here: cancel some to see the rest.');
    expect(embeds[0]?.description).not.toContain('**26.**');
  });

  it('stays within the embed limits for 25 jobs with 2,000-character prompts', () => {
    const items = Array.from({ length: 25 }, (_, i) => {
      const e = entry(i + 1, 'queued', { position: 100 + i });
      return { ...e, job: { ...e.job, request: { ...e.job.request, prompt: nastyPrompt() } } };
    });
    const { embeds } = renderList(items);
    const [embed] = embeds;
    if (!embed) throw new Error('no embed');
    expect(embed.description?.length).toBeLessThanOrEqual(EMBED_LIMITS.description);
    expect(embedLength(embed)).toBeLessThanOrEqual(EMBED_LIMITS.total);
    // Every entry made it, none cut off by the last-resort truncation.
    expect(embed.description).toContain('**25.**');
    expect(embed.description).not.toMatch(/@everyone/);
  });

  it('gives a job that already ended no Cancel button', () => {
    const { components } = renderList([entry(1, 'done'), entry(2, 'queued')]);
    expect(components.flatMap((r) => r.components.map((b) => ('custom_id' in b ? b.custom_id : '')))).toEqual(
      ['v1:cancel:job00000000002'],
    );
  });
});
