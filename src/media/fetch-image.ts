// Fetches a member's attachment for /animate: only from allowed hosts, never more than the cap,
// and accepted only when its bytes are a PNG, JPEG or WebP image.
import { UserFacingError } from '../errors.js';
import { download } from '../net/download.js';
import { NetworkError, type Http } from '../net/http.js';
import { isAllowedHost } from './hosts.js';
import { sniffImage, type ImageType } from './sniff.js';

export interface FetchedImage {
  bytes: Uint8Array;
  type: ImageType;
}

export type FetchImage = (url: string, declaredSize: number) => Promise<FetchedImage>;

export function createImageFetcher(opts: {
  http: Http;
  allowedHosts: readonly string[];
  maxBytes: number;
  timeoutMs?: number;
}): FetchImage {
  const mib = (n: number) => `${Math.floor(n / (1024 * 1024))} MiB`;
  return async (url, declaredSize) => {
    if (!isAllowedHost(url, opts.allowedHosts)) {
      throw new UserFacingError(
        'attachment_host',
        'That attachment is not hosted on Discord, so I will not fetch it.',
      );
    }
    if (declaredSize > opts.maxBytes) {
      throw new UserFacingError(
        'image_too_large',
        `That image is too large: the limit is ${mib(opts.maxBytes)}.`,
      );
    }
    let result;
    try {
      result = await download(opts.http, url, {
        maxBytes: opts.maxBytes,
        timeoutMs: opts.timeoutMs ?? 30_000,
      });
    } catch (error) {
      if (error instanceof NetworkError) {
        throw new UserFacingError(
          'image_unreachable',
          'I could not download that image from Discord. Please try again.',
          {
            cause: error,
          },
        );
      }
      throw error;
    }
    if (!result.ok) {
      if (result.reason === 'too_large') {
        throw new UserFacingError(
          'image_too_large',
          `That image is too large: the limit is ${mib(opts.maxBytes)}.`,
        );
      }
      throw new UserFacingError(
        'image_unreachable',
        'I could not download that image from Discord. Please try again.',
      );
    }
    const type = sniffImage(result.bytes);
    if (!type) {
      throw new UserFacingError('not_an_image', 'That file is not a PNG, JPEG or WebP image.');
    }
    return { bytes: result.bytes, type };
  };
}
