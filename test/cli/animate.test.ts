// `npm run animate` end to end: the runner as a child process against the fake WaveSpeed and fal
// on 127.0.0.1, with no Discord setting at all. Each test checks one promise of the contract: the
// saved bytes and the path on stdout, the phases on stderr, and every exit code.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAL_KEY, PNG, WS_KEY } from '../e2e/harness.js';
import { projectCopy } from '../e2e/project.js';
import { startFakeFal, type FakeFal } from '../fakes/fal.js';
import { startFakeWaveSpeed, type FakeWaveSpeed } from '../fakes/wavespeed.js';
import { REWRITE_SUFFIX } from '../fakes/wavespeed/optimizer.js';
import { runRunner, startRunner } from './runner.js';

/** An mp4 header and random bytes: each fake's video is its own, so a saved file says where it came from. */
const mp4 = () => Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom'), randomBytes(2048)]);
const WS_VIDEO = mp4();
const FAL_VIDEO = mp4();

let wavespeed: FakeWaveSpeed;
let fal: FakeFal;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  wavespeed = await startFakeWaveSpeed({ apiKey: WS_KEY, runMs: 300, queuedMs: 50, videoBytes: WS_VIDEO });
  fal = await startFakeFal({ apiKey: FAL_KEY, runMs: 300, queuedMs: 50, videoBytes: FAL_VIDEO });
  dir = projectCopy('cli');
  writeFileSync(join(dir, 'cat.png'), PNG);
  writeFileSync(join(dir, 'notes.png'), 'not a picture, whatever the name says\n');
  env = {
    WAVESPEED_API_KEY: WS_KEY,
    WAVESPEED_BASE_URL: wavespeed.baseUrl,
    FAL_KEY,
    FAL_QUEUE_URL: fal.queueUrl,
    FAL_STORAGE_URL: fal.storageUrl,
    // The fakes finish in about 350 ms; say so, or the engine polls on a 59 s schedule.
    EXPECTED_RUN_MS: 'wavespeed/ray-2-flash=400,wavespeed/ray-2=400,fal/ray-2-flash=400',
  };
});

afterAll(async () => {
  await Promise.all([wavespeed?.close(), fal?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const IMAGE = ['--image', 'cat.png', '--prompt', 'the cat slowly blinks'];

/** Requests the fakes have seen so far, to show a refused run sent nothing. */
const seen = () => wavespeed.requests.length + fal.requests.length;

describe('npm run animate: a saved video', () => {
  it('saves the WaveSpeed video to --out, prints only its path, names each phase on stderr, exits 0', async () => {
    mkdirSync(join(dir, 'videos'), { recursive: true });
    // Held while processing, so the run is seen rendering before it finishes.
    wavespeed.hold();
    const run = startRunner([...IMAGE, '--out', 'videos/blink.mp4'], { cwd: dir, env, viaNpm: true });
    try {
      await run.waitForStderr(/^animate: rendering/m);
    } finally {
      wavespeed.release();
    }
    const result = await run.done;

    const path = join(dir, 'videos/blink.mp4');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`${path}\n`);
    expect(readFileSync(path).equals(WS_VIDEO)).toBe(true);
    expect(readdirSync(join(dir, 'videos'))).toStrictEqual(['blink.mp4']);
    const phases = result.stderr
      .split('\n')
      .map((line) => /^animate: (uploading|submitting|queued|rendering|fetching)/.exec(line)?.[1])
      .filter(Boolean);
    expect(phases).toStrictEqual(['uploading', 'submitting', 'queued', 'rendering', 'fetching']);
    expect(result.stderr).toMatch(/^animate: rendering, ETA \d+s$/m);
    const submitted = wavespeed.submissions.at(-1);
    expect(submitted?.endpoint).toBe('luma/ray-2-flash-i2v');
    expect(submitted?.body).toMatchObject({ prompt: 'the cat slowly blinks', size: '1280*720', duration: 5 });
  });

  it('runs fal with its options, resolves paths from where npm was called, defaults --out to animate-<id>.mp4', async () => {
    const caller = join(dir, 'caller');
    mkdirSync(caller, { recursive: true });
    writeFileSync(join(caller, 'start.png'), PNG);
    writeFileSync(join(caller, 'end.png'), PNG);
    const result = await runRunner(
      [
        '--image',
        'start.png',
        '--prompt',
        'the cat turns its head',
        '--model',
        'fal/ray-2-flash',
        '--size',
        '4:3',
        '--duration',
        '10',
        '--resolution',
        '720p',
        '--loop',
        '--end-image',
        'end.png',
      ],
      // npm runs the script in the project root and names the caller's directory in INIT_CWD.
      { cwd: dir, env: { ...env, INIT_CWD: caller } },
    );

    expect(result.code, result.stderr).toBe(0);
    const path = /^(.*\/animate-[\w-]+\.mp4)\n$/.exec(result.stdout)?.[1];
    expect(path?.startsWith(`${caller}/animate-`)).toBe(true);
    expect(readFileSync(path!).equals(FAL_VIDEO)).toBe(true);
    expect(fal.submissions.at(-1)?.body).toMatchObject({
      prompt: 'the cat turns its head',
      aspect_ratio: '4:3',
      duration: '9s',
      resolution: '720p',
      loop: true,
      end_image_url: expect.any(String) as string,
    });
  });
  it('registers no webhook when the .env has PUBLIC_URL for the bot: the runner has no listener', async () => {
    const result = await runRunner([...IMAGE, '--out', 'hooked.mp4'], {
      cwd: dir,
      env: { ...env, PUBLIC_URL: 'https://bot.example.org' },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(wavespeed.submissions.at(-1)?.webhook).toBeUndefined();
  });

  it('streams a video over OUTPUT_MAX_BYTES to the file from its URL, which the engine leaves it as', async () => {
    const big = Buffer.concat([WS_VIDEO, randomBytes(8192)]);
    wavespeed.nextOutcome({ videoBytes: big });
    const result = await runRunner([...IMAGE, '--out', 'big.mp4'], {
      cwd: dir,
      env: { ...env, OUTPUT_MAX_BYTES: '4096' },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`${join(dir, 'big.mp4')}\n`);
    expect(readFileSync(join(dir, 'big.mp4')).equals(big)).toBe(true);
    // Asked for twice: the engine stops at the declared size, then the runner streams it.
    const task = wavespeed.submissions.at(-1)?.taskId;
    const gets = wavespeed.requests.filter((r) => r.method === 'GET' && r.path === `/files/${task}.mp4`);
    expect(gets).toHaveLength(2);
  });
});

describe('npm run animate --enhance', () => {
  it('rewrites the prompt with the optimizer first, submits the rewrite and prints it on stderr', async () => {
    const optimized = wavespeed.optimizer.submissions.length;
    const result = await runRunner(
      [...IMAGE, '--model', 'fal/ray-2-flash', '--enhance', '--out', 'enhanced.mp4'],
      {
        cwd: dir,
        env,
      },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`${join(dir, 'enhanced.mp4')}\n`);
    const rewritten = `the cat slowly blinks${REWRITE_SUFFIX}`;
    expect(result.stderr).toContain(`animate: prompt (enhanced): ${rewritten}`);
    expect(result.stderr).toMatch(/^animate: enhancing the prompt$/m);
    expect(wavespeed.optimizer.submissions).toHaveLength(optimized + 1);
    expect(wavespeed.optimizer.submissions.at(-1)?.body).toMatchObject({
      text: 'the cat slowly blinks',
      mode: 'video',
    });
    expect(fal.submissions.at(-1)?.body).toMatchObject({ prompt: rewritten });
  });

  it('uses the given prompt when the optimizer fails, and says so', async () => {
    wavespeed.optimizer.nextOutcome({ fail: true });
    const result = await runRunner([...IMAGE, '--enhance', '--out', 'own.mp4'], { cwd: dir, env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(
      'animate: the prompt enhancer was unavailable; using your prompt: the cat slowly blinks',
    );
    expect(wavespeed.submissions.at(-1)?.body).toMatchObject({ prompt: 'the cat slowly blinks' });
  });

  it('is refused (exit 2) without a WaveSpeed key, naming the setting, sending nothing', async () => {
    const { WAVESPEED_API_KEY: _, ...noWs } = env;
    const before = seen();
    const result = await runRunner([...IMAGE, '--model', 'fal/ray-2-flash', '--enhance'], {
      cwd: dir,
      env: noWs,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "animate: --enhance needs WAVESPEED_API_KEY (WaveSpeed's prompt optimizer), which is not set",
    );
    expect(result.stdout).toBe('');
    expect(seen()).toBe(before);
  });
});

describe('npm run animate: exit code 2, bad arguments or input', () => {
  it('refuses a file that is not an image by its bytes, sending nothing', async () => {
    const before = seen();
    const result = await runRunner(['--image', 'notes.png', '--prompt', 'blink'], { cwd: dir, env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('animate: That file is not a PNG, JPEG or WebP image.');
    expect(result.stdout).toBe('');
    expect(seen()).toBe(before);
  });

  it('refuses an unknown option with the usage line', async () => {
    const result = await runRunner([...IMAGE, '--colour', 'red'], { cwd: dir, env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Unknown option '--colour'");
    expect(result.stderr).toMatch(/^usage: npm run animate -- --image <path> --prompt <text> /m);
    expect(result.stdout).toBe('');
  });

  it.each([
    [['--loop'], '--loop'],
    [['--resolution', '720p'], '--resolution'],
    [['--end-image', 'cat.png'], '--end-image'],
  ])('refuses %j on a WaveSpeed model with the reason, sending nothing', async (extra, flag) => {
    const before = seen();
    const result = await runRunner([...IMAGE, ...extra], { cwd: dir, env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`animate: wavespeed/ray-2-flash does not support ${flag}`);
    expect(seen()).toBe(before);
  });

  it('names a bad setting in one line', async () => {
    const result = await runRunner(IMAGE, { cwd: dir, env: { ...env, DEFAULT_MODEL: 'sora' }, viaNpm: true });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^animate: DEFAULT_MODEL /);
  });

  it('names the missing key of a model whose provider has none', async () => {
    const { FAL_KEY: _, ...noFal } = env;
    const result = await runRunner([...IMAGE, '--model', 'fal/ray-2-flash'], { cwd: dir, env: noFal });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('animate: fal/ray-2-flash needs FAL_KEY, which is not set');
  });
});

describe('npm run animate: exit code 3, the provider account', () => {
  it('a key the provider refuses', async () => {
    const result = await runRunner(IMAGE, {
      cwd: dir,
      env: { ...env, WAVESPEED_API_KEY: 'ws-wrong-key-000000' },
    });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(
      'animate: the job failed: wavespeed refused the key in WAVESPEED_API_KEY',
    );
    expect(result.stdout).toBe('');
  });

  it('an account with no funds', async () => {
    wavespeed.failSubmit({ status: 402 });
    const result = await runRunner(IMAGE, { cwd: dir, env });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('animate: the job failed: the wavespeed account has no funds left');
  });
});

describe('npm run animate: exit code 4, the job did not make a video', () => {
  it('a job the provider failed', async () => {
    wavespeed.nextOutcome({ status: 'failed', code: 5000, error: 'render crashed' });
    const result = await runRunner(IMAGE, { cwd: dir, env });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('animate: the job failed: The video provider could not make this video.');
    expect(result.stdout).toBe('');
  });

  it('a job refused by moderation', async () => {
    wavespeed.nextOutcome({ status: 'failed', code: 1200, error: 'content policy' });
    const result = await runRunner(IMAGE, { cwd: dir, env });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('under its content policy');
  });
});

describe('npm run animate: exit code 130, interrupted', () => {
  it('Ctrl-C mid-job cancels it at fal', async () => {
    fal.hold();
    const run = startRunner([...IMAGE, '--model', 'fal/ray-2-flash'], { cwd: dir, env });
    await run.waitForStderr(/^animate: (queued|rendering)/m);
    const requestId = fal.submissions.at(-1)?.requestId;
    expect(requestId).toBeDefined();
    run.child.kill('SIGINT');
    const result = await run.done;

    expect(result.code, result.stderr).toBe(130);
    expect(fal.cancels).toContain(requestId);
    expect(result.stderr).toMatch(/^animate: cancelled$/m);
    expect(result.stdout).toBe('');
  });
});
