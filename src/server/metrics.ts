import {
  Counter,
  Histogram,
  Registry,
  collectDefaultMetrics,
} from "prom-client";

/** The service's Prometheus metrics, on a registry of its own. */
export class Metrics {
  readonly registry = new Registry();
  readonly webhooks: Counter<"type" | "result">;
  readonly jobs: Counter<"type" | "outcome">;
  readonly writeLatency: Histogram;
  readonly webhookSkew: Histogram;

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
    this.jobs = new Counter({
      name: "ghl_coopel_sync_jobs_total",
      help: "Jobs finished, by event type and outcome",
      labelNames: ["type", "outcome"],
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
  }
}
