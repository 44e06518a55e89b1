/** Delivery of the demo stream: changes made in the GHL sandbox, then sent as signed webhooks. */
import { buildDemoPayload, type PlannedChange } from "./demo-plan.js";
import type {
  DemoEvent,
  DemoTrafficOptions,
  DemoTrafficResult,
} from "./demo-traffic.js";
import type { GhlContact } from "./ghl-contact-fields.js";
import {
  buildContactWebhookPayload,
  contactWebhookFields,
} from "./ghl-webhook-payload.js";
import { createSeededRandom } from "./random.js";
import { withDeliveryIds } from "./webhook-sender.js";

const MAX_429_RETRIES = 6;
/** Keys of a webhook body that are not contact fields a user can set. */
const NOT_CONTACT_INPUT = new Set([
  "type",
  "id",
  "locationId",
  "dateAdded",
  "attachments",
  "webhookId",
  "timestamp",
]);

/** State of one traffic run: counters, the event log and the contacts touched. */
export class TrafficRun {
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

  /** Applies an official example (create, update or delete) to the sandbox and sends it unchanged but for `locationId`. */
  async sendOfficialExample(
    example: Record<string, unknown>,
    signWith: "ed25519" | "rsa",
    eventIndex: number,
  ): Promise<void> {
    const { ghl, locationId } = this.options;
    const contactId = String(example.id);
    const fields: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(example)) {
      if (!NOT_CONTACT_INPUT.has(key)) {
        fields[key] = value;
      }
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
    const { status, error } = await this.#postWithRetries(rawBody, signWith);
    this.counts.sent += 1;
    if (status !== null && status >= 200 && status < 300)
      this.counts.accepted += 1;
    else this.counts.rejected += 1;
    this.events[eventIndex] = {
      webhookId: String(body.webhookId),
      type,
      contactId,
      status,
      ...(error === undefined ? {} : { error }),
    };
    if (duplicate) {
      this.counts.duplicated += 1;
      await this.#postWithRetries(rawBody, signWith);
    }
    this.#reportProgress();
  }

  /**
   * Posts the same bytes until the status is not 429 or the retries are spent. A network error or
   * timeout returns a null status and the error message, which the caller stores on the event.
   */
  async #postWithRetries(
    rawBody: string,
    signWith: "ed25519" | "rsa",
  ): Promise<{ status: number | null; error?: string }> {
    for (let attempt = 0; ; attempt++) {
      let status: number;
      try {
        const delivery = await this.options.ghl.sendWebhook(
          this.options.targetUrl,
          {},
          { rawBody, signWith, timeoutMs: this.options.requestTimeoutMs },
        );
        status = delivery.status;
      } catch (error) {
        this.counts.networkErrors += 1;
        return {
          status: null,
          error: `Webhook POST to ${this.options.targetUrl} failed: ${(error as Error).message}`,
        };
      }
      if (status !== 429 || attempt >= MAX_429_RETRIES) return { status };
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

/** Limits how many tasks run at once; waiting tasks start in the order they called `run`. */
export class Semaphore {
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
