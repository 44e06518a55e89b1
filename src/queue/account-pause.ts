import type { AccountPause, Job } from "../engine/ports.js";

/**
 * Returns true when `pause` keeps `job` from being claimed: the job's own
 * account is paused, or the job comes from GHL and a Coopel account is
 * paused. The claim queries of both queues apply the same rule in SQL.
 */
export function pauseHoldsJob(job: Job, pause: AccountPause): boolean {
  const { source, accountId } = job.event;
  if (pause.system === source && pause.accountId === accountId) return true;
  return pause.system === "coopel" && source === "ghl";
}

/**
 * Returns when a job that met `pause` may run again. A job of the paused
 * account may run as soon as the pause is lifted. Any other job, such as a
 * Coopel job that met a paused GHL location, waits until the pause's retry
 * time, because otherwise it would be claimed again at once and meet the
 * same pause in a loop.
 */
export function pausedJobRunAt(
  job: Job,
  pause: AccountPause,
  now: number,
): number {
  return pauseHoldsJob(job, pause) ? now : Math.max(now, pause.retryAt);
}
