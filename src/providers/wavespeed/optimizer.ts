// WaveSpeed's prompt optimizer (`/animate enhance`): one POST that creates a task, then polls of
// that task like any WaveSpeed prediction. Its output is unconfirmed (docs/providers.md,
// "WaveSpeed prompt optimizer"): a string, or an object with a `text` or `prompt` string, is read
// as the rewritten prompt; anything else is a failed task, and the engine uses the member's own.
import { z } from 'zod';
import type { Http } from '../../net/http.js';
import type { ProviderClient, ProviderRequestObserver } from '../request.js';
import { createWaveSpeedClient } from './client.js';
import type { OptimizePoll, PromptOptimizer } from '../types.js';
import { readTask } from './poll.js';
import { submitAnswer } from './wire.js';

export const OPTIMIZER_PATH = 'wavespeed-ai/prompt-optimizer';
/** The longest rewritten prompt we submit: what a member may type into /animate. */
export const OPTIMIZED_PROMPT_MAX = 2000;

export interface PromptOptimizerOptions {
  http: Http;
  baseUrl: string;
  apiKey: string;
  /** Per-request deadline; defaults to the WaveSpeed provider's. */
  requestTimeoutMs?: number;
  observer?: ProviderRequestObserver | undefined;
}

/** The documented input; `style` is left to its default, `enable_sync_mode` off (we follow the task). */
export interface OptimizerBody {
  text: string;
  mode: 'video';
  image?: string;
}

export function createPromptOptimizer(opts: PromptOptimizerOptions): PromptOptimizer {
  const baseUrl = opts.baseUrl.replace(/\/+$/, '');
  const c = createWaveSpeedClient({
    label: 'WaveSpeed prompt optimizer',
    http: opts.http,
    apiKey: opts.apiKey,
    requestTimeoutMs: opts.requestTimeoutMs,
    observer: opts.observer,
  });
  // As for videos: our base URL and the id, never `urls.get`, so the key goes only to our host.
  const resultUrl = (id: string) => `${baseUrl}/api/v3/predictions/${encodeURIComponent(id)}/result`;

  return {
    async submit(request, signal) {
      const body: OptimizerBody = {
        text: request.text,
        mode: 'video',
        ...(request.imageUrl ? { image: request.imageUrl } : {}),
      };
      const res = await c.send(
        {
          op: 'enhance',
          method: 'POST',
          url: `${baseUrl}/api/v3/${OPTIMIZER_PATH}`,
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        },
        signal,
      );
      const failed = c.failureStatus(res);
      if (failed !== undefined) throw c.httpError('submit', res, { status: failed });
      const parsed = submitAnswer.safeParse(res.body);
      if (!parsed.success) throw c.error('protocol', 'prompt optimizer answer had no task id (data.id)');
      return { id: parsed.data.data.id };
    },

    async poll(id, signal) {
      const res = await c.send({ op: 'enhance_poll', method: 'GET', url: resultUrl(id) }, signal);
      const task = readTask(c, res, id);
      if (task.state !== 'completed') return task;
      return readOutput(c, task.data.outputs?.[0], id);
    },
  };
}

const outputObject = z.union([z.object({ text: z.string() }), z.object({ prompt: z.string() })]);

/** `outputs[0]` as the rewritten prompt, or a failed task saying why it cannot be used. */
export function readOutput(c: ProviderClient, output: unknown, id: string): OptimizePoll {
  let text: string | undefined;
  if (typeof output === 'string') text = output;
  else {
    const parsed = outputObject.safeParse(output);
    if (parsed.success) text = 'text' in parsed.data ? parsed.data.text : parsed.data.prompt;
  }
  const prompt = text?.trim();
  const problem =
    prompt === undefined
      ? `outputs[0] is ${output === undefined ? 'missing' : 'not a prompt'}`
      : prompt === ''
        ? 'outputs[0] is empty'
        : prompt.length > OPTIMIZED_PROMPT_MAX
          ? `outputs[0] is ${prompt.length} characters, over ${OPTIMIZED_PROMPT_MAX}`
          : undefined;
  if (problem !== undefined || prompt === undefined)
    return { state: 'failed', error: c.error('protocol', `prompt optimizer: ${problem}`, { requestId: id }) };
  return { state: 'succeeded', prompt };
}
