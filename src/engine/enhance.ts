// The prompt enhancer as the rest of the bot sees a job: which prompt the job runs with (the
// member's own, or the enhancer's rewrite once it was used), what part of its price pays for the
// enhancer, and what a rerun of it asks for (the prompt it ran with, never enhanced again). The
// step that runs the enhancer is steps/enhance.ts.
import { ENHANCE_PRICE } from '../providers/catalog.js';
import type { JobRecord } from '../store/jobs.js';

/** The longest the enhancer may take, from its submit, before the member's own prompt is used. */
export const ENHANCE_WAIT_MS = 60_000;

/** The ledger note of the enhancer's credit given back. */
export const ENHANCE_REFUND_NOTE = 'prompt enhancer unavailable';

/** The prompt the job runs with: the enhancer's rewrite once used, the member's own otherwise. */
export function promptOf(job: Pick<JobRecord, 'request' | 'enhance'>): string {
  return job.enhance?.state === 'used' && job.enhance.prompt !== undefined
    ? job.enhance.prompt
    : job.request.prompt;
}

/** The enhancer still has work to do before the video can be submitted. */
export function needsEnhancing(job: Pick<JobRecord, 'enhance'>): boolean {
  const state = job.enhance?.state;
  return state !== undefined && state !== 'used' && state !== 'failed';
}

/** Credits of the job's price that pay for the enhancer: one unless it failed (and was refunded). */
export function enhancerCharge(job: Pick<JobRecord, 'request' | 'enhance'>): number {
  return job.request.enhance === true && job.enhance?.state !== 'failed' ? ENHANCE_PRICE : 0;
}

/** What a rerun of `job` asks for: the same request with the prompt it ran with, not enhanced again. */
export function rerunRequest(job: Pick<JobRecord, 'request' | 'enhance'>): JobRecord['request'] {
  const { enhance: _asked, ...request } = job.request;
  return { ...request, prompt: promptOf(job) };
}

/**
 * The job as a rerun with `prompt` sees it (Edit & rerun's new prompt, or the Rerun button's used
 * one): that prompt, and no enhancer, so nothing downstream reads the old rewrite instead.
 */
export function withPrompt(job: JobRecord, prompt: string): JobRecord {
  const { enhance: _done, ...rest } = job;
  return { ...rest, request: { ...rerunRequest(job), prompt } };
}
