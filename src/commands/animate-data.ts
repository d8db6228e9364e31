// The /animate definition as registered with Discord (kept apart from its handler).
import {
  ApplicationCommandOptionType,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import { MODEL_IDS, MODELS } from '../providers/catalog.js';
import type { AspectRatio } from '../providers/types.js';
import { SIZE_CHOICES } from './animate-request.js';

const WAVESPEED_RATIOS: readonly AspectRatio[] = MODELS['wavespeed/ray-2-flash'].aspectRatios;

export const animateData = {
  name: 'animate',
  description: 'Turn a picture into a short video',
  options: [
    {
      type: ApplicationCommandOptionType.Attachment,
      name: 'image',
      description: 'A PNG, JPEG or WebP image',
      required: true,
    },
    {
      type: ApplicationCommandOptionType.String,
      name: 'prompt',
      description: 'What should happen in the video',
      required: true,
      min_length: 1,
      max_length: 2000,
    },
    {
      type: ApplicationCommandOptionType.String,
      name: 'model',
      description: 'Which model makes the video',
      choices: MODEL_IDS.map((id) => ({ name: id, value: id })),
    },
    {
      type: ApplicationCommandOptionType.String,
      name: 'size',
      description: 'Orientation (default landscape); the ratios are fal only',
      choices: Object.entries(SIZE_CHOICES).map(([value, ratio]) => ({
        name: WAVESPEED_RATIOS.includes(ratio) ? value : `${value} (fal only)`,
        value,
      })),
    },
    {
      type: ApplicationCommandOptionType.Integer,
      name: 'duration',
      description: 'Length in seconds (default 5; fal runs 10 as 9)',
      choices: [
        { name: '5 seconds', value: 5 },
        { name: '10 seconds', value: 10 },
      ],
    },
    {
      type: ApplicationCommandOptionType.String,
      name: 'resolution',
      description: 'fal only: 540p (default), 720p costs 2×, 1080p costs 4×',
      choices: [
        { name: '540p', value: '540p' },
        { name: '720p (2× price)', value: '720p' },
        { name: '1080p (4× price)', value: '1080p' },
      ],
    },
    {
      type: ApplicationCommandOptionType.Boolean,
      name: 'loop',
      description: 'fal only: blend the end back into the start',
    },
    {
      type: ApplicationCommandOptionType.Attachment,
      name: 'end_image',
      description: 'fal only: the image the video should end on',
    },
    {
      type: ApplicationCommandOptionType.Boolean,
      name: 'enhance',
      description: 'Let the prompt enhancer rewrite your prompt first (+1 credit, refunded if it fails)',
    },
  ],
} satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;
