// With FAKE_DISCORD_REJECTIONS=<file>, every request the fake answers 400 / 50035 is appended to the
// file as a JSON line with the test it came from, so one run of the whole suite shows every body the
// bot (or a test) sent that Discord would refuse: `FAKE_DISCORD_REJECTIONS=/tmp/r.jsonl npx vitest run`.
import { appendFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { RejectedRequest } from './types.js';

export function auditRejection(rejection: RejectedRequest): void {
  const file = process.env.FAKE_DISCORD_REJECTIONS;
  if (file === undefined || file === '') return;
  const { testPath, currentTestName } = expect.getState();
  const line = { test: currentTestName, file: testPath, ...rejection };
  appendFileSync(file, `${JSON.stringify(line)}\n`);
}
