// Who runs next. A member may have a few jobs running at once (the rest wait in line), a
// provider may have a cap on concurrent jobs, and when a slot frees up the members take turns:
// the member served least recently goes first, so one member's batch cannot starve the rest.
import { MODELS } from '../providers/catalog.js';
import type { ProviderId } from '../providers/types.js';
import type { JobRecord } from '../store/jobs.js';

export interface AdmissionRules {
  maxActivePerMember: number;
  /** Concurrent running jobs per provider; absent = no cap. */
  providerCaps: Partial<Record<ProviderId, number>>;
}

const providerOf = (job: JobRecord) => MODELS[job.runModel].provider;
const isRunning = (job: JobRecord) => job.state !== 'waiting';

export class Admission {
  readonly #rules: AdmissionRules;
  /** Turn counter per member: lower means served longer ago. */
  readonly #lastServed = new Map<string, number>();
  #turn = 0;

  constructor(rules: AdmissionRules) {
    this.#rules = rules;
  }

  /** Whether `job` may start now, given every open job. */
  canStart(job: JobRecord, open: Iterable<JobRecord>): boolean {
    let mine = 0;
    let onProvider = 0;
    const provider = providerOf(job);
    for (const j of open) {
      if (j.id === job.id || !isRunning(j)) continue;
      if (j.userId === job.userId) mine++;
      if (providerOf(j) === provider) onProvider++;
    }
    const cap = this.#rules.providerCaps[provider];
    return mine < this.#rules.maxActivePerMember && (cap === undefined || onProvider < cap);
  }

  /** A new job waits when it cannot start, or when others already wait for the same provider (fairness). */
  shouldWait(job: JobRecord, open: Iterable<JobRecord>): boolean {
    const all = [...open];
    const queued = all.some(
      (j) => j.state === 'waiting' && providerOf(j) === providerOf(job) && j.id !== job.id,
    );
    return !this.canStart(job, all) || (queued && this.#rules.providerCaps[providerOf(job)] !== undefined);
  }

  /** The next waiting job to start, or undefined when none can. Marks its member as served. */
  next(open: Iterable<JobRecord>): JobRecord | undefined {
    const all = [...open];
    const oldestPerMember = new Map<string, JobRecord>();
    for (const job of all) {
      if (job.state !== 'waiting' || !this.canStart(job, all)) continue;
      const seen = oldestPerMember.get(job.userId);
      if (!seen || job.createdAt < seen.createdAt) oldestPerMember.set(job.userId, job);
    }
    let pick: JobRecord | undefined;
    for (const job of oldestPerMember.values()) {
      if (!pick || this.#before(job, pick)) pick = job;
    }
    if (pick) this.#lastServed.set(pick.userId, ++this.#turn);
    return pick;
  }

  /** Drops a member's turn record once they have no open jobs (so the map cannot grow forever). */
  forget(userId: string, open: Iterable<JobRecord>): void {
    for (const job of open) if (job.userId === userId) return;
    this.#lastServed.delete(userId);
  }

  /** 1-based place in line of each waiting job, in the order they would be served if nothing changed. */
  positions(open: Iterable<JobRecord>): Map<string, number> {
    const waiting = [...open].filter((j) => j.state === 'waiting');
    // Interleave members by turn: each member's k-th waiting job is in round k.
    const perMember = new Map<string, JobRecord[]>();
    for (const job of waiting.sort((a, b) => a.createdAt - b.createdAt)) {
      perMember.set(job.userId, [...(perMember.get(job.userId) ?? []), job]);
    }
    const members = [...perMember.keys()].sort(
      (a, b) => (this.#lastServed.get(a) ?? 0) - (this.#lastServed.get(b) ?? 0),
    );
    const order: JobRecord[] = [];
    for (let round = 0; order.length < waiting.length; round++) {
      for (const member of members) {
        const job = perMember.get(member)?.[round];
        if (job) order.push(job);
      }
    }
    return new Map(order.map((job, i) => [job.id, i + 1]));
  }

  /** Never-served members first, then the least recently served; ties go to the older job. */
  #before(a: JobRecord, b: JobRecord): boolean {
    const ta = this.#lastServed.get(a.userId) ?? 0;
    const tb = this.#lastServed.get(b.userId) ?? 0;
    return ta !== tb ? ta < tb : a.createdAt < b.createdAt;
  }
}
