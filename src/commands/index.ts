// Every slash command the bot has, listed explicitly.
import { animateAdmin } from './animate-admin.js';
import { animate } from './animate.js';
import { credits } from './credits.js';
import { jobs } from './jobs.js';
import type { Command } from './types.js';

export const commands: readonly Command[] = [animate, credits, jobs, animateAdmin];
