// The runner's files: an input image read from disk and checked by its bytes (as /animate checks
// an attachment), and the output path checked before anything is sent, so a job is never run
// for a video that could not be saved.
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { InputImage } from '../engine/engine.js';
import { Refusal } from '../failures.js';
import { sniffImage } from '../media/sniff.js';

/** A file the runner cannot use, said in one line. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

export async function readImage(path: string, maxBytes: number): Promise<InputImage> {
  const info = await stat(path).catch((error: unknown) => {
    throw new InputError(`cannot read ${path}: ${codeOf(error)}`);
  });
  if (!info.isFile()) throw new InputError(`${path} is not a file`);
  if (info.size > maxBytes) throw new Refusal({ code: 'image_too_large', maxBytes });
  const bytes = await readFile(path).catch((error: unknown) => {
    throw new InputError(`cannot read ${path}: ${codeOf(error)}`);
  });
  const type = sniffImage(bytes);
  if (!type) throw new Refusal({ code: 'not_an_image' });
  return {
    // Only submitted as is when the provider's storage refuses the upload (a provider cannot
    // fetch it, so that job fails rather than running on something else).
    sourceUrl: pathToFileURL(path).href,
    bytes,
    contentType: type.mime,
    extension: type.extension,
  };
}

/** Throws an InputError when a video could not be written to `path` (or, without one, into `dir`). */
export async function checkWritable(dir: string, path?: string): Promise<void> {
  if (path !== undefined) {
    const existing = await stat(path).catch(() => undefined);
    if (existing?.isDirectory()) throw new InputError(`${path} is a directory`);
    dir = dirname(path);
  }
  await access(dir, constants.W_OK).catch((error: unknown) => {
    throw new InputError(`cannot write to ${dir}: ${codeOf(error)}`);
  });
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : String(error);
}
