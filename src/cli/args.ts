// The terminal runner's command line (docs/cli.md), read with node:util parseArgs in strict mode:
// the options the contract lists and nothing else, so a typo is refused rather than ignored.
import { parseArgs } from 'node:util';

export const USAGE =
  'usage: npm run animate -- --image <path> --prompt <text> [--model <id>] [--size <s>] ' +
  '[--duration <5|10>] [--resolution <r>] [--loop] [--end-image <path>] [--enhance] [--out <file.mp4>]';

export interface RunnerArgs {
  image: string;
  prompt: string;
  model?: string;
  size?: string;
  duration?: string;
  resolution?: string;
  loop?: boolean;
  endImage?: string;
  /** The prompt enhancer first (WaveSpeed's optimizer, whatever the model; needs its key). */
  enhance?: boolean;
  out?: string;
}

export type ParsedArgs = { ok: true; args: RunnerArgs } | { ok: false; problem: string };

const OPTIONS = {
  image: { type: 'string' },
  prompt: { type: 'string' },
  model: { type: 'string' },
  size: { type: 'string' },
  duration: { type: 'string' },
  resolution: { type: 'string' },
  loop: { type: 'boolean' },
  'end-image': { type: 'string' },
  enhance: { type: 'boolean' },
  out: { type: 'string' },
} as const;

export function parseRunnerArgs(argv: readonly string[]): ParsedArgs {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    // parseArgs' own sentence names the option ("Unknown option '--foo'").
    return { ok: false, problem: error instanceof Error ? error.message : String(error) };
  }
  const { image, prompt, 'end-image': endImage, ...rest } = values;
  if (image === undefined) return { ok: false, problem: '--image is required' };
  if (prompt === undefined) return { ok: false, problem: '--prompt is required' };
  const args: RunnerArgs = { image, prompt };
  if (endImage !== undefined) args.endImage = endImage;
  for (const key of ['model', 'size', 'duration', 'resolution', 'out'] as const) {
    const value = rest[key];
    if (value !== undefined) args[key] = value;
  }
  if (rest.loop !== undefined) args.loop = rest.loop;
  if (rest.enhance !== undefined) args.enhance = rest.enhance;
  return { ok: true, args };
}
