import { createHmac, randomUUID } from "node:crypto";
import type {
  CoopelChangeType,
  CoopelContact,
  CoopelTask,
  CoopelTaskChangeType,
} from "./coopel-store.js";

/** The target URL and signing settings of the Coopel sandbox's contact and task webhooks. */
export interface CoopelWebhookTarget {
  /** A loopback URL, such as the service's `/webhooks/coopel`. */
  url: string;
  /** Shared secret of the HMAC-SHA256 signature. */
  secret: string;
  /** Header of the hex signature; default `x-coopel-signature`. */
  header?: string;
}

const LOOPBACK_HOSTNAMES = new Set(["127.0.0.1", "localhost", "[::1]"]);
const MAX_ATTEMPTS = 3;
const TIMEOUT_MS = 5000;

/**
 * Sends signed webhooks for contact and task changes, one at a time and in the
 * order of the changes, as a Coopel that emits webhooks would. A delivery
 * that gets 429, 5xx or no response is tried up to 3 times in all.
 */
export class CoopelWebhookSender {
  #target: CoopelWebhookTarget | null = null;
  #chain: Promise<void> = Promise.resolve();
  /** Deliveries that got a 2xx response. */
  delivered = 0;
  /** Deliveries given up after their last attempt. */
  failed = 0;

  setTarget(target: CoopelWebhookTarget | null): void {
    if (target !== null) {
      const url = new URL(target.url);
      if (!LOOPBACK_HOSTNAMES.has(url.hostname))
        throw new Error(
          `Coopel sandbox webhook target must be on a loopback address (127.0.0.1, localhost or [::1]), got ${url.host}`,
        );
    }
    this.#target = target;
  }

  /** Queues the webhook of one contact change; does nothing while no target is set. */
  notify(type: CoopelChangeType, contact: CoopelContact): void {
    this.queue({ type, contact });
  }

  /** Queues the webhook of one task change; does nothing while no target is set. */
  notifyTask(type: CoopelTaskChangeType, task: CoopelTask): void {
    this.queue({ type, task });
  }

  private queue(event: Record<string, unknown>): void {
    const target = this.#target;
    if (target === null) return;
    const body = JSON.stringify({
      event_id: randomUUID(),
      ...event,
      sent_at: new Date().toISOString(),
    });
    this.#chain = this.#chain.then(() => this.deliver(target, body));
  }

  /** Resolves when every queued webhook has been delivered or given up. */
  flush(): Promise<void> {
    return this.#chain;
  }

  private async deliver(target: CoopelWebhookTarget, body: string) {
    const signature = createHmac("sha256", target.secret)
      .update(body)
      .digest("hex");
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      try {
        const response = await fetch(target.url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            [target.header ?? "x-coopel-signature"]: signature,
          },
          body,
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        await response.arrayBuffer();
        if (response.status < 300) {
          this.delivered += 1;
          return;
        }
        if (response.status !== 429 && response.status < 500) break;
      } catch {
        // No response: tried again below.
      }
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
    this.failed += 1;
  }
}
