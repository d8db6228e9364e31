// Job records. A job is written before every side effect, so a restart can resume it from the
// last state it reached. An index of open jobs lets the next start find them without scanning.
import { z } from 'zod';
import { MODEL_IDS } from '../providers/catalog.js';
import type { Store } from './keyv.js';
import { KeyedLock } from './lock.js';
import type { OpenIndexEdits } from './open-index.js';

export const JOB_STATES = [
  'accepting', // being accepted: the hold may or may not exist yet; undone if found at start
  'waiting', // accepted, credits held, waiting for the member's turn
  'accepted', // credits held, nothing sent to the provider yet
  'enhancing', // the prompt enhancer is rewriting the prompt (see `enhance`); then `accepted` again
  'submitting', // the paid submit may be on the wire
  'submitted', // the provider has the job (ref stored)
  'succeeded', // the provider finished; output URL stored
  'delivering', // the result post may be on the wire
  'delivered', // terminal: posted and charged
  'failed', // a failure is decided; refund and notice pending
  'refunded', // terminal: refunded and told
] as const;
export type JobState = (typeof JOB_STATES)[number];

export const TERMINAL_STATES: ReadonlySet<JobState> = new Set(['delivered', 'refunded']);

const imageSchema = z.object({
  /** Where the bot got the image (a Discord CDN URL; may expire). */
  sourceUrl: z.string(),
  filename: z.string(),
  contentType: z.string(),
  bytes: z.number().int().nonnegative(),
  /** A copy in the provider's storage, for reruns after the Discord URL expired. */
  uploads: z.record(z.string(), z.string()).default({}),
});

export const jobSchema = z.object({
  id: z.string(),
  state: z.enum(JOB_STATES),
  userId: z.string(),
  guildId: z.string().nullable(),
  /** Where the request was made; the status message goes here. */
  channelId: z.string(),
  /**
   * Whose credits: the account scope the hold was made in (a server id, `dm` or `global`).
   * Absent on jobs accepted before balances had scopes; see accountOf in src/engine/context.ts.
   */
  scope: z.string().optional(),
  rerunOf: z.string().optional(),
  request: z.object({
    model: z.enum(MODEL_IDS),
    prompt: z.string(),
    aspectRatio: z.enum(['16:9', '9:16', '4:3', '3:4', '21:9', '9:21']),
    durationSeconds: z.union([z.literal(5), z.literal(10)]),
    resolution: z.enum(['540p', '720p', '1080p']).optional(),
    loop: z.boolean().optional(),
    /** Asked with `enhance:true`: the prompt enhancer first (its credit is in `price`). */
    enhance: z.boolean().optional(),
    image: imageSchema,
    endImage: imageSchema.optional(),
  }),
  price: z.number().int().nonnegative(),
  /** The member's free balance right after the hold, for the status card. */
  balanceAfter: z.number().int().optional(),
  /** The model that actually runs the job (differs from the request after a failover). */
  runModel: z.enum(MODEL_IDS),
  /** Set when the job moved to another provider: what it came from and what was quoted. */
  failover: z.object({ from: z.enum(MODEL_IDS), quotedPrice: z.number().int().nonnegative() }).optional(),
  /**
   * The prompt enhancer, for a job asked with `enhance`: `pending` until its submit, `submitting`
   * while that may be on the wire, `submitted` with the task id while it is followed, then `used`
   * with the rewritten prompt or `failed` (the member's own prompt runs, its credit refunded).
   */
  enhance: z
    .object({
      state: z.enum(['pending', 'submitting', 'submitted', 'used', 'failed']),
      taskId: z.string().optional(),
      submittedAt: z.number().optional(),
      /** The rewritten prompt the video is made from (`used`). */
      prompt: z.string().optional(),
      /** Why the member's own prompt was used (`failed`), for the log and the record. */
      reason: z.string().optional(),
    })
    .optional(),
  providerRef: z
    .object({
      id: z.string(),
      statusUrl: z.string().optional(),
      resultUrl: z.string().optional(),
      cancelUrl: z.string().optional(),
      webhook: z.boolean().optional(),
    })
    .optional(),
  progress: z
    .object({
      phase: z.enum(['waiting', 'queued', 'running']),
      position: z.number().int().optional(),
      submittedAt: z.number().optional(),
      polls: z.number().int().default(0),
    })
    .optional(),
  discord: z.object({
    attachmentSizeLimit: z.number().int().positive(),
    statusChannelId: z.string().optional(),
    statusMessageId: z.string().optional(),
    /** Where results and failures go: the thread, or the channel when no thread could be made. */
    threadId: z.string().optional(),
    resultMessageId: z.string().optional(),
  }),
  output: z.object({ url: z.string(), nsfw: z.boolean() }).optional(),
  failure: z.object({ code: z.string(), message: z.string() }).optional(),
  createdAt: z.number(),
  updatedAt: z.number(),
  deadlineAt: z.number(),
  finishedAt: z.number().optional(),
});
export type JobRecord = z.infer<typeof jobSchema>;

export interface JobStore {
  get(id: string): Promise<JobRecord | undefined>;
  /** Writes a new job and lists it as open (index first, so a crash never hides a job). */
  create(job: JobRecord): Promise<void>;
  /** Writes the record; a terminal state also takes the job off the open list. */
  save(job: JobRecord): Promise<void>;
  /** Every job that has not reached a terminal state. */
  listOpen(): Promise<JobRecord[]>;
  /** The job whose result is the given Discord message, for 🔁 reruns. */
  jobForResultMessage(messageId: string): Promise<string | undefined>;
  linkResultMessage(messageId: string, jobId: string): Promise<void>;
  /** Small engine state kept across restarts (learned run times), as opaque JSON. */
  loadMeta(name: string): Promise<unknown>;
  saveMeta(name: string, value: unknown): Promise<void>;
}

/**
 * The open-jobs index is split into buckets by job id, so accepting or finishing a job rewrites
 * one small list, not one list of every open job (with 10,000 open that was the slowest write).
 * A start reads all buckets. The first bucket keeps the name the single index had.
 */
const OPEN_BUCKETS = 64;
const bucketKey = (bucket: number) => (bucket === 0 ? 'jobs:open' : `jobs:open:${bucket}`);
function bucketOf(id: string): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return h % OPEN_BUCKETS;
}

/**
 * `shared`: index edits that other processes cannot interleave with (Redis, src/store/open-index.ts).
 * Without it the index is edited with Keyv's get and set under a lock of this process, which is
 * exact only while this process is the store's one writer (SQLite, in-memory Keyv).
 */
/** A list of job ids (an open-jobs index), as stored. Schemas are built once: zod compiles each. */
const idList = z.array(z.string());

export function createJobStore(keyv: Store, shared?: OpenIndexEdits): JobStore {
  const lock = new KeyedLock();
  const key = (id: string) => `job:${id}`;

  async function openIds(list: string): Promise<string[]> {
    const raw = await keyv.get(list);
    return raw === undefined ? [] : idList.parse(raw);
  }

  function editIndex(list: string, edit: (ids: Set<string>) => boolean): Promise<void> {
    return lock.run(list, async () => {
      const ids = new Set(await openIds(list));
      if (edit(ids)) await keyv.set(list, [...ids]);
    });
  }

  const index: OpenIndexEdits = shared ?? {
    add: (list, id) => editIndex(list, (ids) => (ids.has(id) ? false : (ids.add(id), true))),
    remove: (list, gone) => editIndex(list, (ids) => gone.map((id) => ids.delete(id)).some(Boolean)),
  };

  async function get(id: string): Promise<JobRecord | undefined> {
    const raw = await keyv.get(key(id));
    return raw === undefined ? undefined : jobSchema.parse(raw);
  }

  return {
    get,
    async create(job) {
      // The record before its index entry: the start-up scan drops index entries without a
      // record, and it runs while new jobs are being accepted. A crash between the two leaves a
      // record nobody lists, written before any hold or side effect, so nothing is lost.
      await keyv.set(key(job.id), job);
      await index.add(bucketKey(bucketOf(job.id)), job.id);
    },
    async save(job) {
      await keyv.set(key(job.id), job);
      if (TERMINAL_STATES.has(job.state)) await index.remove(bucketKey(bucketOf(job.id)), [job.id]);
    },
    async listOpen() {
      const jobs: JobRecord[] = [];
      for (let bucket = 0; bucket < OPEN_BUCKETS; bucket++) {
        const stale: string[] = [];
        for (const id of await openIds(bucketKey(bucket))) {
          const job = await get(id);
          if (job && !TERMINAL_STATES.has(job.state)) jobs.push(job);
          else stale.push(id);
        }
        // Only ids whose record is missing or finished go, by id: whatever another process added
        // meanwhile stays (a record is written before its id is listed).
        if (stale.length > 0) await index.remove(bucketKey(bucket), stale);
      }
      return jobs.sort((a, b) => a.createdAt - b.createdAt);
    },
    async jobForResultMessage(messageId) {
      const raw = await keyv.get(`result:${messageId}`);
      return typeof raw === 'string' ? raw : undefined;
    },
    async linkResultMessage(messageId, jobId) {
      await keyv.set(`result:${messageId}`, jobId);
    },
    loadMeta: (name) => keyv.get(`meta:${name}`),
    async saveMeta(name, value) {
      await keyv.set(`meta:${name}`, value);
    },
  };
}
