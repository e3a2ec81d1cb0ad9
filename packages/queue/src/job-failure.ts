import { SgdwalkError } from '@sgdwalk/core';
import { JobRejected } from './job-schema.js';

/**
 * What a failed job tells Redis (its failedReason, read by the coordinator and `sgdwalk queue`). A job may
 * be forged, and Redis is shared: a failure says which file, field or step and what is wrong, never what a
 * file holds. The one place where a reader's message quotes bytes is JSON.parse ("Unexpected token 'h',
 * "hunter2" is not valid JSON"), so that quote is cut; messages longer than a line are cut too.
 */

const MAX_REASON = 400;
/** V8's JSON.parse messages quote up to ten characters of the text: `, "…"… is not valid JSON`. */
const QUOTED_JSON = /Unexpected token '[^]*?', "[^]*?"(?:\.\.\.)? is not valid JSON/g;

/** BullMQ fails a job at once, without its remaining attempts, when its error has this name. */
const FINAL = 'UnrecoverableError';

export function failureOf(error: unknown): Error {
  const known = error instanceof SgdwalkError;
  const raw = error instanceof Error ? (known ? error.message : `${error.name}: ${error.message}`) : `thrown: ${typeof error}`;
  let reason = raw.replace(QUOTED_JSON, 'not valid JSON');
  if (reason.length > MAX_REASON) reason = `${reason.slice(0, MAX_REASON)}…`;
  const failure = new Error(reason);
  // A job refused for what it is (its shape, its paths) fails the same on every try: no retries.
  if (error instanceof JobRejected) failure.name = FINAL;
  return failure;
}

/** How the worker hands its --job-seconds to its sandboxed children (forked with its environment). */
export const JOB_SECONDS_ENV = 'SGDWALK_JOB_SECONDS';

/** The failure of a job past the worker's time limit: final (another try would take as long). */
export function timeLimitFailure(jobId: string | undefined, seconds: number): Error {
  const failure = new Error(`job ${jobId?.slice(0, 12) ?? '?'} ran past the worker's time limit of ${seconds} s (--job-seconds); its process was ended`);
  failure.name = FINAL;
  return failure;
}
