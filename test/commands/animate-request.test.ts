// The one check of /animate's options against a model, shared by the command and the terminal
// runner: defaults, the size names, and an unsupported option refused by name, never dropped.
import { describe, expect, it } from 'vitest';
import { checkAnimateRequest } from '../../src/commands/animate-request.js';
import { isRefusal, type Failure } from '../../src/failures.js';

function refusal(run: () => unknown): Failure {
  try {
    run();
  } catch (error) {
    if (isRefusal(error)) return error.failure;
    throw error;
  }
  throw new Error('no refusal');
}

describe('checkAnimateRequest', () => {
  it("fills /animate's defaults: the default model, landscape, 5 seconds, a trimmed prompt", () => {
    expect(checkAnimateRequest({ prompt: '  a cat  ' }, 'wavespeed/ray-2-flash')).toStrictEqual({
      model: 'wavespeed/ray-2-flash',
      prompt: 'a cat',
      aspectRatio: '16:9',
      durationSeconds: 5,
    });
  });

  it("keeps fal's options on fal", () => {
    const request = checkAnimateRequest(
      {
        prompt: 'a cat',
        model: 'fal/ray-2-flash',
        size: '21:9',
        duration: 10,
        resolution: '1080p',
        loop: false,
        endImage: true,
      },
      'wavespeed/ray-2-flash',
    );
    expect(request).toStrictEqual({
      model: 'fal/ray-2-flash',
      prompt: 'a cat',
      aspectRatio: '21:9',
      durationSeconds: 10,
      resolution: '1080p',
      loop: false,
    });
  });

  it.each([
    [{ size: '4:3' }, 'size: 4:3'],
    [{ resolution: '720p' }, 'resolution'],
    [{ loop: false }, 'loop'],
    [{ endImage: true }, 'end_image'],
  ])('refuses %j on a WaveSpeed model, naming the option', (extra, option) => {
    expect(
      refusal(() => checkAnimateRequest({ prompt: 'a cat', ...extra }, 'wavespeed/ray-2')),
    ).toStrictEqual({
      code: 'unsupported_option',
      model: 'wavespeed/ray-2',
      option,
    });
  });

  it('takes enhance:true for every model where the prompt enhancer is offered', () => {
    for (const model of ['wavespeed/ray-2-flash', 'wavespeed/ray-2', 'fal/ray-2-flash']) {
      expect(
        checkAnimateRequest({ prompt: 'a cat', model, enhance: true }, 'wavespeed/ray-2-flash', {
          enhance: true,
        }),
      ).toMatchObject({ model, prompt: 'a cat', enhance: true });
    }
    // false asks for nothing, so the request carries nothing.
    expect(
      checkAnimateRequest({ prompt: 'a cat', enhance: false }, 'wavespeed/ray-2-flash', { enhance: true }),
    ).not.toHaveProperty('enhance');
  });

  it.each([true, false])(
    'refuses enhance:%s like an unsupported option where the enhancer is not offered',
    (enhance) => {
      expect(
        refusal(() => checkAnimateRequest({ prompt: 'a cat', enhance }, 'fal/ray-2-flash')),
      ).toStrictEqual({
        code: 'unsupported_option',
        model: 'fal/ray-2-flash',
        option: 'enhance',
      });
      expect(
        refusal(() =>
          checkAnimateRequest({ prompt: 'a cat', enhance }, 'fal/ray-2-flash', { enhance: false }),
        ),
      ).toMatchObject({ code: 'unsupported_option', option: 'enhance' });
    },
  );

  it('refuses values no model has', () => {
    const check = (extra: object) =>
      refusal(() => checkAnimateRequest({ prompt: 'a cat', ...extra }, 'fal/ray-2-flash'));
    expect(check({ model: 'sora' })).toStrictEqual({ code: 'unknown_model', model: 'sora' });
    expect(check({ size: 'square' })).toStrictEqual({ code: 'bad_size', size: 'square' });
    expect(check({ duration: 7 })).toStrictEqual({ code: 'bad_duration' });
    expect(check({ resolution: '4k' })).toStrictEqual({ code: 'bad_resolution', resolution: '4k' });
    expect(refusal(() => checkAnimateRequest({ prompt: '   ' }, 'fal/ray-2-flash'))).toStrictEqual({
      code: 'bad_prompt',
    });
  });
});
