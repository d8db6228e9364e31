// Who runs next. A member may have a few jobs running at once (the rest wait in line), a
// provider may have a cap on concurrent jobs, and when a slot frees up the members take turns:
// the member served least recently goes first, so one member's batch cannot starve the rest.
//
// Every decision is taken and recorded in one synchronous call (`admit`, `next`, `move`), so
// requests that arrive at the same moment cannot all see the same free slot. These decisions are
// this process's; on a store shared by several processes a started job also claims its slot in
// the store (src/store/slots.ts), and a refused claim sends it back here with `unstart`.
import { MODELS } from '../providers/catalog.js';
import type { ProviderId } from '../providers/types.js';
import type { JobRecord } from '../store/jobs.js';

export interface AdmissionRules {
  maxActivePerMember: number;
  /** Concurrent running jobs per provider; absent = no cap. */
  providerCaps: Partial<Record<ProviderId, number>>;
}

interface Slot {
  /** A member in one server (`<guild>:<user>`, or `dm:<user>`): limits are per member per server. */
  member: string;
  /** That member's running-job limit there (a server's `limit`, or MAX_ACTIVE_JOBS_PER_MEMBER). */
  limit: number;
  provider: ProviderId;
  createdAt: number;
  running: boolean;
  /** Not offered a slot again before this time (its claim on the store's slots was refused). */
  notBefore?: number;
}

const providerOf = (job: JobRecord): ProviderId => MODELS[job.runModel].provider;
const memberOf = (job: JobRecord): string => `${job.guildId ?? 'dm'}:${job.userId}`;

export class Admission {
  readonly #rules: AdmissionRules;
  readonly #slots = new Map<string, Slot>();
  /** Ids of the waiting slots, and running counts per member and provider (kept in step with #slots). */
  readonly #waiting = new Set<string>();
  readonly #runningByMember = new Map<string, number>();
  readonly #runningByProvider = new Map<ProviderId, number>();
  /** Open jobs per member, to forget a member's turn once they have none. */
  readonly #openByMember = new Map<string, number>();
  /** Turn counter per member: lower means served longer ago. */
  readonly #lastServed = new Map<string, number>();
  /** Waiting job ids per member, and each member's current limit (the latest their server set). */
  readonly #waitingByMember = new Map<string, Set<string>>();
  readonly #limits = new Map<string, number>();
  #turn = 0;

  constructor(rules: AdmissionRules) {
    this.#rules = rules;
  }

  /**
   * Records a new job and decides at once whether it runs now or waits its turn. A job waits when
   * the member or the provider is at its limit, or when others already wait for a capped
   * provider (it must not jump the line).
   */
  admit(job: JobRecord, limit = this.#rules.maxActivePerMember): 'run' | 'wait' {
    const slot: Slot = {
      member: memberOf(job),
      limit,
      provider: providerOf(job),
      createdAt: job.createdAt,
      running: false,
    };
    // The server's current limit applies to all the member's jobs there, waiting ones included.
    this.#limits.set(slot.member, limit);
    const lineForProvider =
      this.#rules.providerCaps[slot.provider] !== undefined &&
      [...this.#waiting].some((id) => this.#slots.get(id)?.provider === slot.provider);
    // A member's own older request that could start now goes first (the limit was just raised).
    const olderFits = [...(this.#waitingByMember.get(slot.member) ?? [])].some((id) => {
      const older = this.#slots.get(id);
      return older !== undefined && this.#hasRoom(older);
    });
    this.#add(job.id, slot);
    if (lineForProvider || olderFits || !this.#hasRoom(slot)) return 'wait';
    this.#start(job.id, slot);
    return 'run';
  }

  /** Records a job loaded from the store as it stands: running unless it is waiting. */
  restore(job: JobRecord, limit = this.#rules.maxActivePerMember): void {
    if (this.#slots.has(job.id)) return;
    this.#limits.set(memberOf(job), limit);
    const slot: Slot = {
      member: memberOf(job),
      limit,
      provider: providerOf(job),
      createdAt: job.createdAt,
      running: false,
    };
    this.#add(job.id, slot);
    if (job.state !== 'waiting') this.#start(job.id, slot, false);
  }

  /** What the store's slot claim needs to know about a job admitted here. */
  claimOf(jobId: string): { member: string; limit: number; provider: ProviderId } | undefined {
    const slot = this.#slots.get(jobId);
    return slot && { member: slot.member, limit: this.#limitOf(slot), provider: slot.provider };
  }

  /**
   * Takes back a start: the job waits again and is not offered a slot before `notBefore`. For a
   * job whose slot in the store was refused (another process on the store holds the slots).
   */
  unstart(jobId: string, notBefore: number): void {
    const slot = this.#slots.get(jobId);
    if (!slot?.running) return;
    slot.running = false;
    slot.notBefore = notBefore;
    this.#wait(jobId, slot);
    bump(this.#runningByMember, slot.member, -1);
    bump(this.#runningByProvider, slot.provider, -1);
  }

  /** Why a waiting job waits: its member is at their limit, or something else (a provider, the store). */
  waitsFor(jobId: string): 'your_jobs' | 'a_slot' {
    const slot = this.#slots.get(jobId);
    if (!slot) return 'a_slot';
    return (this.#runningByMember.get(slot.member) ?? 0) >= this.#limitOf(slot) ? 'your_jobs' : 'a_slot';
  }

  isRunning(jobId: string): boolean {
    return this.#slots.get(jobId)?.running ?? false;
  }

  /** Jobs waiting for their turn: the line's length. */
  get waitingCount(): number {
    return this.#waiting.size;
  }

  /** Moves a running job to another provider (failover) if that provider has room. */
  move(jobId: string, provider: ProviderId): boolean {
    const slot = this.#slots.get(jobId);
    if (!slot) return false;
    const cap = this.#rules.providerCaps[provider];
    if (cap !== undefined && (this.#runningByProvider.get(provider) ?? 0) >= cap) return false;
    if (slot.running) {
      bump(this.#runningByProvider, slot.provider, -1);
      bump(this.#runningByProvider, provider, 1);
    }
    slot.provider = provider;
    return true;
  }

  /** Frees the job's slot (it finished, or its acceptance was undone). */
  release(jobId: string): void {
    const slot = this.#slots.get(jobId);
    if (!slot) return;
    this.#slots.delete(jobId);
    this.#unwait(jobId, slot);
    if (slot.running) {
      bump(this.#runningByMember, slot.member, -1);
      bump(this.#runningByProvider, slot.provider, -1);
    }
    // Forget a member's turn once they have nothing open, so the map cannot grow forever.
    if (bump(this.#openByMember, slot.member, -1) === 0) {
      this.#lastServed.delete(slot.member);
      this.#limits.delete(slot.member);
    }
  }

  /**
   * Starts the next waiting job that may start now, members taking turns; its id, or undefined.
   * `now` skips jobs told to wait until later (`unstart`).
   */
  next(now = Number.POSITIVE_INFINITY): string | undefined {
    let pick: [string, Slot] | undefined;
    for (const id of this.#waiting) {
      const slot = this.#slots.get(id);
      if (!slot || !this.#hasRoom(slot) || (slot.notBefore ?? 0) > now) continue;
      if (!pick || this.#before(slot, pick[1])) pick = [id, slot];
    }
    if (!pick) return undefined;
    this.#start(pick[0], pick[1]);
    return pick[0];
  }

  /** 1-based place in line of each waiting job, in the order they would be served if nothing changed. */
  positions(): Map<string, number> {
    const perMember = new Map<string, string[]>();
    const waiting = [...this.#waiting].flatMap((id) => {
      const slot = this.#slots.get(id);
      return slot ? [[id, slot] as const] : [];
    });
    for (const [id, slot] of waiting.sort((a, b) => a[1].createdAt - b[1].createdAt)) {
      perMember.set(slot.member, [...(perMember.get(slot.member) ?? []), id]);
    }
    const members = [...perMember.keys()].sort(
      (a, b) => (this.#lastServed.get(a) ?? 0) - (this.#lastServed.get(b) ?? 0),
    );
    // Interleave members by turn: each member's k-th waiting job is in round k.
    const order: string[] = [];
    for (let round = 0; order.length < waiting.length; round++) {
      for (const member of members) {
        const id = perMember.get(member)?.[round];
        if (id) order.push(id);
      }
    }
    return new Map(order.map((id, i) => [id, i + 1]));
  }

  #hasRoom(slot: Slot): boolean {
    const mine = this.#runningByMember.get(slot.member) ?? 0;
    const cap = this.#rules.providerCaps[slot.provider];
    const onProvider = this.#runningByProvider.get(slot.provider) ?? 0;
    return mine < this.#limitOf(slot) && (cap === undefined || onProvider < cap);
  }

  #limitOf(slot: Slot): number {
    return this.#limits.get(slot.member) ?? slot.limit;
  }

  #wait(id: string, slot: Slot): void {
    this.#waiting.add(id);
    let mine = this.#waitingByMember.get(slot.member);
    if (!mine) this.#waitingByMember.set(slot.member, (mine = new Set()));
    mine.add(id);
  }

  #unwait(id: string, slot: Slot): void {
    this.#waiting.delete(id);
    const mine = this.#waitingByMember.get(slot.member);
    mine?.delete(id);
    if (mine?.size === 0) this.#waitingByMember.delete(slot.member);
  }

  #add(id: string, slot: Slot): void {
    this.#slots.set(id, slot);
    this.#wait(id, slot);
    bump(this.#openByMember, slot.member, 1);
  }

  /** Marks a slot running; `served` counts it as the member's turn (not for a job restored at start). */
  #start(id: string, slot: Slot, served = true): void {
    slot.running = true;
    delete slot.notBefore;
    this.#unwait(id, slot);
    bump(this.#runningByMember, slot.member, 1);
    bump(this.#runningByProvider, slot.provider, 1);
    if (served) this.#lastServed.set(slot.member, ++this.#turn);
  }

  /** Never-served members first, then the least recently served; ties go to the older job. */
  #before(a: Slot, b: Slot): boolean {
    const ta = this.#lastServed.get(a.member) ?? 0;
    const tb = this.#lastServed.get(b.member) ?? 0;
    return ta !== tb ? ta < tb : a.createdAt < b.createdAt;
  }
}

/** Adds `by` to a counter, dropping it at zero; returns the new count. */
function bump<K>(counts: Map<K, number>, key: K, by: number): number {
  const n = (counts.get(key) ?? 0) + by;
  if (n <= 0) counts.delete(key);
  else counts.set(key, n);
  return Math.max(0, n);
}
