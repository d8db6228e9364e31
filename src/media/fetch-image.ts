// Fetches a member's attachment for /animate: only from allowed hosts, never more than the cap,
// and accepted only when its bytes are a PNG, JPEG or WebP image.
import { Refusal } from '../failures.js';
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
  return async (url, declaredSize) => {
    if (!isAllowedHost(url, opts.allowedHosts)) {
      throw new Refusal({ code: 'attachment_host' });
    }
    if (declaredSize > opts.maxBytes) {
      throw new Refusal({ code: 'image_too_large', maxBytes: opts.maxBytes });
    }
    let result;
    try {
      result = await download(opts.http, url, {
        maxBytes: opts.maxBytes,
        timeoutMs: opts.timeoutMs ?? 30_000,
      });
    } catch (error) {
      if (error instanceof NetworkError) {
        throw new Refusal(
          { code: 'image_unreachable' },
          {
            cause: error,
          },
        );
      }
      throw error;
    }
    if (!result.ok) {
      if (result.reason === 'too_large') {
        throw new Refusal({ code: 'image_too_large', maxBytes: opts.maxBytes });
      }
      throw new Refusal({ code: 'image_unreachable' });
    }
    const type = sniffImage(result.bytes);
    if (!type) {
      throw new Refusal({ code: 'not_an_image' });
    }
    return { bytes: result.bytes, type };
  };
}
