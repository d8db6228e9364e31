// A job store that tells the runner about every write of a job. Every step writes its job before
// it moves on, so the runner sees each state and phase as it happens, without polling the store.
import type { JobRecord, JobStore } from '../store/jobs.js';

export function watchJobs(jobs: JobStore, onWrite: (job: JobRecord) => void): JobStore {
  return {
    ...jobs,
    async create(job) {
      await jobs.create(job);
      onWrite(job);
    },
    async save(job) {
      await jobs.save(job);
      onWrite(job);
    },
  };
}
