// The customIds on our buttons and modals. A button outlives the process that posted it (a
// status card sits in a channel for days, across restarts and deploys), so its id carries
// everything the handler needs, the job id, and a version: a later scheme can change the
// format while old buttons still parse (or are told "no longer available"), never misread.
// See docs/discord.md, "The status card and its buttons".

export const CUSTOM_ID_VERSION = 'v1';

export const CUSTOM_ID_ACTIONS = [
  'cancel', // stop a waiting or running job (the status card, /jobs)
  'rerun', // run a result's request again (the result message)
  'edit', // open the edit-and-rerun modal (the result message)
  'editsubmit', // the modal itself, submitted with the new prompt
  'delete', // delete a result message
] as const;
export type CustomIdAction = (typeof CUSTOM_ID_ACTIONS)[number];

/** Discord's limit on a component's or modal's custom_id. */
export const CUSTOM_ID_MAX = 100;

/** Job ids are 14 characters of base64url; the bound keeps every id well under CUSTOM_ID_MAX. */
const JOB_ID = /^[A-Za-z0-9_-]{1,64}$/;

export interface ParsedCustomId {
  action: CustomIdAction;
  jobId: string;
}

function isAction(value: string): value is CustomIdAction {
  return (CUSTOM_ID_ACTIONS as readonly string[]).includes(value);
}

/** `v1:<action>:<jobId>`. Throws on a job id that is not base64url (a bug, not a member's doing). */
export function customId(action: CustomIdAction, jobId: string): string {
  if (!JOB_ID.test(jobId)) throw new Error(`not a job id for a customId: ${JSON.stringify(jobId)}`);
  return `${CUSTOM_ID_VERSION}:${action}:${jobId}`;
}

/** The action and job of one of our customIds; undefined for anything else (other versions too). */
export function parseCustomId(raw: string): ParsedCustomId | undefined {
  if (raw.length > CUSTOM_ID_MAX) return undefined;
  const parts = raw.split(':');
  if (parts.length !== 3) return undefined;
  const [version, action, jobId] = parts as [string, string, string];
  if (version !== CUSTOM_ID_VERSION || !isAction(action) || !JOB_ID.test(jobId)) return undefined;
  return { action, jobId };
}
