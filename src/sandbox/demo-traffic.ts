import { Semaphore, TrafficRun } from "./demo-delivery.js";
import { planDemoChanges } from "./demo-plan.js";
import type { GhlSandbox } from "./ghl-sandbox.js";
import { createSeededRandom } from "./random.js";

export interface DemoTrafficOptions {
  ghl: GhlSandbox;
  /** Location whose contacts change; the official examples are sent with this locationId too. */
  locationId: string;
  /** Webhook URL of the receiver, on a loopback address. */
  targetUrl: string;
  /** Maximum number of distinct contacts created; default 300. */
  contacts?: number;
  /** Number of generated changes, sent after the official examples; default 1200. */
  changes?: number;
  /** Maximum number of webhooks in flight, each for a different contact; default 16. */
  concurrency?: number;
  /** Seed of the generated stream; default 1. */
  seed?: number;
  /** GHL's example ContactCreate, ContactUpdate and ContactDelete bodies, sent first and in order. */
  officialExamples: object[];
  /** Share of changes delivered twice with the same webhookId and bytes; default 0. */
  duplicateRate?: number;
  /** Share of changes made in GHL whose webhook is never sent; default 0. */
  dropRate?: number;
  /** Time to wait for each response; default 10 000 ms. */
  requestTimeoutMs?: number;
  onProgress?: (progress: DemoTrafficProgress) => void;
}

export interface DemoTrafficProgress {
  total: number;
  done: number;
  accepted: number;
  rejected: number;
}

/** One change of the run; `events` lists them in the order they were planned. */
export interface DemoEvent {
  webhookId: string;
  type: string;
  contactId: string;
  /** Final status, or null when the webhook was dropped or the request failed. */
  status: number | null;
  /** Message of the network error or timeout that ended the delivery, if any. */
  error?: string;
}

export interface DemoTrafficResult {
  /** Webhooks delivered, counting each change once (no retries, no duplicate copies, no dropped ones). */
  sent: number;
  /** Deliveries that got a 2xx response. */
  accepted: number;
  /** Deliveries that got another status after retries, or failed on the network. */
  rejected: number;
  retriedOn429: number;
  duplicated: number;
  dropped: number;
  networkErrors: number;
  startedAt: Date;
  finishedAt: Date;
  /** Contacts of this run that exist in the GHL sandbox at the end, as webhook fields by contact id. */
  expected: Map<string, Record<string, unknown>>;
  deletedIds: string[];
  events: DemoEvent[];
}

const DEFAULT_SEED = 1;

/**
 * Sends the official examples one at a time, then a seeded stream of contact changes. Each change
 * is first made in the GHL sandbox through the `user*` helpers, then sent as a signed webhook.
 * Webhooks of one contact go out one after another; different contacts run in parallel. A 429
 * is retried up to 6 times after 50 to 500 ms, a time-compressed version of GHL's retries.
 */
export async function runDemoTraffic(
  options: DemoTrafficOptions,
): Promise<DemoTrafficResult> {
  const concurrency = options.concurrency ?? 16;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(
      `concurrency must be a positive integer, got ${concurrency}`,
    );
  }
  const plan = planDemoChanges(
    createSeededRandom(options.seed ?? DEFAULT_SEED),
    {
      contacts: options.contacts ?? 300,
      changes: options.changes ?? 1200,
      duplicateRate: options.duplicateRate ?? 0,
      dropRate: options.dropRate ?? 0,
    },
  );
  const run = new TrafficRun(
    options,
    plan.length + options.officialExamples.length,
  );
  const startedAt = new Date();

  for (const [index, example] of options.officialExamples.entries()) {
    await run.sendOfficialExample(
      example as Record<string, unknown>,
      index % 2 === 0 ? "ed25519" : "rsa",
      index,
    );
  }

  const slots = new Semaphore(concurrency);
  const tails = new Map<string, Promise<void>>();
  const chains: Promise<void>[] = [];
  for (const [index, change] of plan.entries()) {
    const eventIndex = options.officialExamples.length + index;
    const previous = tails.get(change.contactId) ?? Promise.resolve();
    const next = previous.then(() =>
      slots.run(() => run.sendChange(change, eventIndex)),
    );
    tails.set(change.contactId, next);
    chains.push(next);
  }
  const outcomes = await Promise.allSettled(chains);
  const failure = outcomes.find(
    (outcome): outcome is PromiseRejectedResult =>
      outcome.status === "rejected",
  );
  if (failure !== undefined) {
    throw failure.reason;
  }
  return {
    ...run.counts,
    startedAt,
    finishedAt: new Date(),
    ...run.finalState(),
  };
}
