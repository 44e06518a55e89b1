import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
} from "prom-client";
import type { RequestSummary } from "../engine/ports.js";

/** What the metrics read from the queue at each scrape. */
export interface QueueProbe {
  depth(): Promise<number>;
  oldestPendingAt(): Promise<number | null>;
}

/**
 * Replaces the id segments of a request path with `:id`, so that requests
 * to one route share one label value: a segment with a digit, or longer
 * than 16 characters, counts as an id.
 */
export function routeLabel(path: string): string {
  const bare = path.split("?")[0] ?? path;
  return bare
    .split("/")
    .map((segment) =>
      segment !== "" && (/\d/.test(segment) || segment.length > 16)
        ? ":id"
        : segment,
    )
    .join("/");
}

/** The service's Prometheus metrics, on a registry of its own. */
export class Metrics {
  readonly registry = new Registry();
  readonly webhooks: Counter<"type" | "result">;
  readonly jobs: Counter<"type" | "outcome">;
  readonly retries: Counter<"type">;
  readonly deadLetters: Counter<"type">;
  readonly apiRequests: Counter<"api" | "method" | "route" | "status">;
  readonly apiDuration: Histogram<"api">;
  readonly writeLatency: Histogram;
  readonly webhookSkew: Histogram;
  /** Events dropped because they carried what the sync itself wrote, by the side they came from. */
  readonly echoes: Counter<"side">;
  /** Fields changed on both sides, by the side that won and the rule that picked it. */
  readonly conflicts: Counter<"winner" | "rule">;
  private queue: QueueProbe | null = null;

  constructor() {
    collectDefaultMetrics({
      register: this.registry,
      prefix: "ghl_coopel_sync_",
    });
    this.webhooks = new Counter({
      name: "ghl_coopel_sync_webhooks_total",
      help: "Webhooks received, by event type and result (accepted, duplicate, ignored reason, rejected reason)",
      labelNames: ["type", "result"],
      registers: [this.registry],
    });
    this.echoes = new Counter({
      name: "ghl_coopel_sync_echoes_total",
      help: "Events dropped as echoes of the sync's own writes, by the side they came from",
      labelNames: ["side"],
      registers: [this.registry],
    });
    this.conflicts = new Counter({
      name: "ghl_coopel_sync_conflicts_total",
      help: "Fields changed on both sides since the last sync, by winning side and rule",
      labelNames: ["winner", "rule"],
      registers: [this.registry],
    });
    this.jobs = new Counter({
      name: "ghl_coopel_sync_jobs_total",
      help: "Jobs finished, by event type and outcome",
      labelNames: ["type", "outcome"],
      registers: [this.registry],
    });
    this.retries = new Counter({
      name: "ghl_coopel_sync_retries_total",
      help: "Failed attempts that will run again, by event type",
      labelNames: ["type"],
      registers: [this.registry],
    });
    this.deadLetters = new Counter({
      name: "ghl_coopel_sync_dead_letters_total",
      help: "Jobs given up on and moved to the dead-letter list, by event type",
      labelNames: ["type"],
      registers: [this.registry],
    });
    this.apiRequests = new Counter({
      name: "ghl_coopel_sync_api_requests_total",
      help: "Requests sent to GHL and Coopel, by API, method, route and HTTP status (none when no answer came)",
      labelNames: ["api", "method", "route", "status"],
      registers: [this.registry],
    });
    this.apiDuration = new Histogram({
      name: "ghl_coopel_sync_api_request_seconds",
      help: "Seconds each request to GHL or Coopel took",
      labelNames: ["api"],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.writeLatency = new Histogram({
      name: "ghl_coopel_sync_webhook_to_write_seconds",
      help: "Seconds from webhook receipt to the end of the write on the other side",
      buckets: [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
      ],
      registers: [this.registry],
    });
    this.webhookSkew = new Histogram({
      name: "ghl_coopel_sync_webhook_timestamp_skew_seconds",
      help: "Webhook body timestamp minus receipt time, in seconds; large negative values are late retries, positive values are clock skew",
      buckets: [-7200, -3600, -600, -60, -5, 0, 5, 60, 600],
      registers: [this.registry],
    });
    const read = (): QueueProbe | null => this.queue;
    new Gauge({
      name: "ghl_coopel_sync_inbox_depth",
      help: "Events in the inbox not finished yet",
      registers: [this.registry],
      async collect() {
        const queue = read();
        if (queue) this.set(await queue.depth());
      },
    });
    new Gauge({
      name: "ghl_coopel_sync_processing_lag_seconds",
      help: "Age of the oldest event not finished yet; 0 when the inbox is empty",
      registers: [this.registry],
      async collect() {
        const queue = read();
        if (!queue) return;
        const oldest = await queue.oldestPendingAt();
        this.set(oldest === null ? 0 : (Date.now() - oldest) / 1000);
      },
    });
  }

  /** Makes the inbox depth and lag gauges read `queue` at each scrape. */
  watchQueue(queue: QueueProbe): void {
    this.queue = queue;
  }

  /** Counts the requests one attempt sent. */
  countRequests(requests: readonly RequestSummary[]): void {
    for (const request of requests) {
      const api = request.api ?? "unknown";
      this.apiRequests.inc({
        api,
        method: request.method,
        route: routeLabel(request.path),
        status: request.status === null ? "none" : String(request.status),
      });
      this.apiDuration.observe({ api }, request.durationMs / 1000);
    }
  }
}
