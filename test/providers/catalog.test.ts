// The model catalogue against CONTRACT.md's price table: every model, duration and resolution.
import { describe, expect, it } from 'vitest';
import {
  MODEL_IDS,
  MODELS,
  falDurationSeconds,
  isModelId,
  type ModelOptions,
} from '../../src/providers/catalog.js';

const opts = (durationSeconds: 5 | 10, extra: Partial<ModelOptions> = {}): ModelOptions => ({
  aspectRatio: '16:9',
  durationSeconds,
  ...extra,
});

describe('prices (credits) as in the contract', () => {
  it.each([
    ['wavespeed/ray-2-flash', 5, 20],
    ['wavespeed/ray-2-flash', 10, 40],
    ['wavespeed/ray-2', 5, 40],
    ['wavespeed/ray-2', 10, 80],
  ] as const)('%s for %i s costs %i', (model, seconds, price) => {
    expect(MODELS[model].price(opts(seconds))).toBe(price);
    // Size does not change a WaveSpeed price.
    expect(MODELS[model].price(opts(seconds, { aspectRatio: '9:16' }))).toBe(price);
  });

  it.each([
    [5, undefined, 20],
    [10, undefined, 36],
    [5, '540p', 20],
    [10, '540p', 36],
    [5, '720p', 40],
    [10, '720p', 72],
    [5, '1080p', 80],
    [10, '1080p', 144],
  ] as const)('fal/ray-2-flash for %i s at %s costs %i', (seconds, resolution, price) => {
    const o = resolution === undefined ? opts(seconds) : opts(seconds, { resolution });
    expect(MODELS['fal/ray-2-flash'].price(o)).toBe(price);
  });

  it('fal bills a 10 s request as 9 s: 4 credits per second at 540p', () => {
    expect(MODELS['fal/ray-2-flash'].price(opts(10))).toBe(4 * 9);
    expect(MODELS['fal/ray-2-flash'].price(opts(10))).not.toBe(4 * 10);
  });

  it('options other than duration and resolution do not change the fal price', () => {
    const plain = MODELS['fal/ray-2-flash'].price(opts(5, { resolution: '720p' }));
    expect(
      MODELS['fal/ray-2-flash'].price(
        opts(5, { resolution: '720p', loop: true, hasEndImage: true, aspectRatio: '9:16' }),
      ),
    ).toBe(plain);
  });

  it('every price is a positive whole number of credits', () => {
    for (const id of MODEL_IDS) {
      for (const seconds of [5, 10] as const) {
        const resolutions = MODELS[id].resolutions.length > 0 ? MODELS[id].resolutions : [undefined];
        for (const resolution of resolutions) {
          const price = MODELS[id].price(
            resolution === undefined ? opts(seconds) : opts(seconds, { resolution }),
          );
          expect(Number.isInteger(price)).toBe(true);
          expect(price).toBeGreaterThan(0);
        }
      }
    }
  });
});

describe('catalogue entries', () => {
  it('offers exactly the three contract models, each keyed by its own id', () => {
    expect([...MODEL_IDS].sort()).toEqual(['fal/ray-2-flash', 'wavespeed/ray-2', 'wavespeed/ray-2-flash']);
    for (const id of MODEL_IDS) expect(MODELS[id].id).toBe(id);
  });

  it('names the provider that runs each model', () => {
    expect(MODELS['wavespeed/ray-2-flash'].provider).toBe('wavespeed');
    expect(MODELS['wavespeed/ray-2'].provider).toBe('wavespeed');
    expect(MODELS['fal/ray-2-flash'].provider).toBe('fal');
  });

  it('every model supports the landscape and portrait sizes', () => {
    for (const id of MODEL_IDS)
      expect(MODELS[id].aspectRatios).toEqual(expect.arrayContaining(['16:9', '9:16']));
  });

  it('only fal offers resolutions 540p, 720p and 1080p', () => {
    expect(MODELS['fal/ray-2-flash'].resolutions).toEqual(['540p', '720p', '1080p']);
    expect(MODELS['wavespeed/ray-2-flash'].resolutions).toEqual([]);
    expect(MODELS['wavespeed/ray-2'].resolutions).toEqual([]);
  });
});

describe('falDurationSeconds', () => {
  it('runs 5 s as 5 s', () => {
    expect(falDurationSeconds(5)).toBe(5);
  });

  it('runs 10 s as 9 s', () => {
    expect(falDurationSeconds(10)).toBe(9);
  });
});

describe('isModelId', () => {
  it.each(['wavespeed/ray-2-flash', 'wavespeed/ray-2', 'fal/ray-2-flash'])('accepts %s', (id) => {
    expect(isModelId(id)).toBe(true);
  });

  it.each([
    '',
    'foo',
    'ray-2-flash',
    'fal/ray-2',
    'WAVESPEED/RAY-2',
    ' wavespeed/ray-2',
    'wavespeed/ray-2-flash ',
  ])('refuses %j', (id) => {
    expect(isModelId(id)).toBe(false);
  });
});
