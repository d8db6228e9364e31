// Entry point of `npm run animate` (docs/cli.md): the process around the runner. Ctrl-C (or
// SIGTERM) cancels the job where the provider can and exits 130; a second one leaves at once.
import { resolve } from 'node:path';
import { EXIT } from './outcome.js';
import { runAnimate } from './run.js';

const interrupt = new AbortController();
let signals = 0;
const onSignal = () => {
  if (signals++ > 0) process.exit(EXIT.interrupted);
  interrupt.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const code = await runAnimate(
  process.argv.slice(2),
  process.env,
  {
    stdout: process.stdout,
    stderr: process.stderr,
    tty: process.stderr.isTTY === true,
    // npm runs a script in the project root (where `.env` is, as for the bot) and says in
    // INIT_CWD where it was called from, which is where the paths on its command line start.
    cwd: process.env.INIT_CWD ?? process.cwd(),
    dotenvPath: resolve('.env'),
  },
  interrupt.signal,
).catch((error: unknown) => {
  process.stderr.write(
    `animate: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  return EXIT.jobFailed;
});
// Everything of ours is closed by now, but the engine may still hold a timer of a few seconds (the
// spacing between two edits of a Discord status message): leave once the output is written.
const written = (stream: NodeJS.WriteStream) => new Promise<void>((done) => stream.write('', () => done()));
await Promise.all([written(process.stdout), written(process.stderr)]);
process.exit(code);
