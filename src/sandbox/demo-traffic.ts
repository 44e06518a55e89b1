import {
  buildDemoPayload,
  planDemoChanges,
  type PlannedChange,
} from "./demo-plan.js";
import type { GhlContact } from "./ghl-contact-fields.js";
import type { GhlSandbox } from "./ghl-sandbox.js";
import {
  buildContactWebhookPayload,
  contactWebhookFields,
} from "./ghl-webhook-payload.js";
import { createSeededRandom } from "./random.js";
import { withDeliveryIds } from "./webhook-sender.js";

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

const MAX_429_RETRIES = 6;
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

/** State of one traffic run: counters, the event log and the contacts touched. */
class TrafficRun {
  readonly counts = {
    sent: 0,
    accepted: 0,
    rejected: 0,
    retriedOn429: 0,
    duplicated: 0,
    dropped: 0,
    networkErrors: 0,
  };
  readonly events: DemoEvent[] = [];
  readonly #touched = new Set<string>();
  readonly #deleted: string[] = [];
  #done = 0;

  constructor(
    readonly options: DemoTrafficOptions,
    readonly total: number,
  ) {}

  /** Applies an official example to the sandbox (create, update or delete) and sends it as it is, but for the locationId. */
  async sendOfficialExample(
    example: Record<string, unknown>,
    signWith: "ed25519" | "rsa",
    eventIndex: number,
  ): Promise<void> {
    const { ghl, locationId } = this.options;
    const contactId = String(example.id);
    const fields: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(example)) {
      if (
        ![
          "type",
          "id",
          "locationId",
          "dateAdded",
          "attachments",
          "webhookId",
          "timestamp",
        ].includes(key)
      )
        fields[key] = value;
    }
    if (example.type === "ContactCreate") {
      ghl.userCreateContact(locationId, fields, {
        id: contactId,
        dateAdded: example.dateAdded as string | undefined,
      });
    } else if (
      example.type === "ContactUpdate" &&
      ghl.contacts.get(locationId)?.has(contactId)
    ) {
      ghl.userUpdateContact(locationId, contactId, fields);
    } else if (
      example.type === "ContactDelete" &&
      ghl.contacts.get(locationId)?.has(contactId)
    ) {
      ghl.userDeleteContact(locationId, contactId);
      this.#deleted.push(contactId);
    }
    this.#touched.add(contactId);
    await this.#deliver(
      { ...example, locationId },
      String(example.type),
      contactId,
      signWith,
      false,
      eventIndex,
    );
  }

  /** Makes one planned change in the sandbox, then sends (or drops) its webhook. */
  async sendChange(change: PlannedChange, eventIndex: number): Promise<void> {
    const { ghl, locationId } = this.options;
    const random = createSeededRandom(change.payloadSeed);
    let payload: Record<string, unknown>;
    if (change.type === "ContactCreate") {
      const after = ghl.userCreateContact(locationId, change.fields ?? {}, {
        id: change.contactId,
      });
      payload = buildDemoPayload(random, "ContactCreate", undefined, after);
    } else if (change.type === "ContactUpdate") {
      const stored = ghl.contacts.get(locationId)?.get(change.contactId);
      const before =
        stored === undefined ? undefined : structuredClone<GhlContact>(stored);
      const after = ghl.userUpdateContact(
        locationId,
        change.contactId,
        change.fields ?? {},
      );
      payload = buildDemoPayload(random, "ContactUpdate", before, after);
    } else {
      payload = buildContactWebhookPayload(
        "ContactDelete",
        ghl.userDeleteContact(locationId, change.contactId),
      );
      this.#deleted.push(change.contactId);
    }
    this.#touched.add(change.contactId);
    if (change.drop) {
      this.counts.dropped += 1;
      this.events[eventIndex] = {
        webhookId: "",
        type: change.type,
        contactId: change.contactId,
        status: null,
      };
      this.#reportProgress();
      return;
    }
    await this.#deliver(
      payload,
      change.type,
      change.contactId,
      change.signWith,
      change.duplicate,
      eventIndex,
    );
  }

  finalState(): Pick<DemoTrafficResult, "expected" | "deletedIds" | "events"> {
    const contacts = this.options.ghl.contacts.get(this.options.locationId);
    const expected = new Map<string, Record<string, unknown>>();
    for (const id of this.#touched) {
      const contact = contacts?.get(id);
      if (contact !== undefined)
        expected.set(id, contactWebhookFields(contact));
    }
    return { expected, deletedIds: [...this.#deleted], events: this.events };
  }

  async #deliver(
    payload: Record<string, unknown>,
    type: string,
    contactId: string,
    signWith: "ed25519" | "rsa",
    duplicate: boolean,
    eventIndex: number,
  ): Promise<void> {
    const body = withDeliveryIds(payload);
    const rawBody = JSON.stringify(body);
    const status = await this.#postWithRetries(rawBody, signWith);
    this.counts.sent += 1;
    if (status !== null && status >= 200 && status < 300)
      this.counts.accepted += 1;
    else this.counts.rejected += 1;
    this.events[eventIndex] = {
      webhookId: String(body.webhookId),
      type,
      contactId,
      status,
    };
    if (duplicate) {
      this.counts.duplicated += 1;
      await this.#postWithRetries(rawBody, signWith);
    }
    this.#reportProgress();
  }

  /** Posts the same bytes until the status is not 429 or the retries are spent; returns null on a network error. */
  async #postWithRetries(
    rawBody: string,
    signWith: "ed25519" | "rsa",
  ): Promise<number | null> {
    for (let attempt = 0; ; attempt++) {
      let status: number;
      try {
        const delivery = await this.options.ghl.sendWebhook(
          this.options.targetUrl,
          {},
          { rawBody, signWith, timeoutMs: this.options.requestTimeoutMs },
        );
        status = delivery.status;
      } catch {
        this.counts.networkErrors += 1;
        return null;
      }
      if (status !== 429 || attempt >= MAX_429_RETRIES) return status;
      this.counts.retriedOn429 += 1;
      await new Promise((resolve) =>
        setTimeout(resolve, 50 + Math.random() * 450),
      );
    }
  }

  #reportProgress(): void {
    this.#done += 1;
    this.options.onProgress?.({
      total: this.total,
      done: this.#done,
      accepted: this.counts.accepted,
      rejected: this.counts.rejected,
    });
  }
}

/** Limits how many tasks run at once; waiting tasks start in the order they asked. */
class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#free = size;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free -= 1;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next !== undefined) next();
      else this.#free += 1;
    }
  }
}
