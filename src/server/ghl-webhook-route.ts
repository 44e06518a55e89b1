import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { InboxEvent, Logger, Queue } from "../engine/ports.js";
import {
  checkWebhookSignature,
  type WebhookKeys,
} from "../connectors/ghl/webhook-signature.js";
import type { Metrics } from "./metrics.js";

export interface GhlWebhookOptions {
  queue: Queue;
  logger: Logger;
  metrics: Metrics;
  /** Null turns signature checks off. */
  keys: WebhookKeys | null;
  /** Event types the configuration syncs; others get 200 and are counted as ignored. */
  syncedTypes: ReadonlySet<string>;
  /** Returns the state of a GHL location: synced, paused, or not configured. */
  locationState: (locationId: string) => "active" | "paused" | "unknown";
  maxInboxDepth: number;
  /** Milliseconds an update waits before it is claimed, so that a burst of edits collapses into one write. */
  coalesceMs?: number;
  /** Handles the app's INSTALL and UNINSTALL events; without it they are ignored. */
  appEvents?: {
    install(payload: Record<string, unknown>): Promise<void>;
    uninstall(payload: Record<string, unknown>): Promise<void>;
  };
  /** Accepted age of the body's `timestamp`; bodies without one are accepted. */
  timestampWindow?: { maxAgeMs: number; maxFutureSkewMs: number };
}

/** Event types delayed by `coalesceMs`. */
const DELAYED_TYPES = new Set(["ContactUpdate"]);
/** A held update waits for later ones at most this many times `coalesceMs` after its arrival. */
const MAX_HOLD_FACTOR = 4;

/** The source's update time of the record: `dateUpdated`, else the delivery `timestamp`; null when neither parses. */
function sourceUpdateTime(payload: Record<string, unknown>): number | null {
  for (const key of ["dateUpdated", "timestamp"]) {
    const value = payload[key];
    if (typeof value !== "string") continue;
    const time = Date.parse(value);
    if (!Number.isNaN(time)) return time;
  }
  return null;
}

/** Event types GHL documents for webhooks; other values are counted as "other". */
const GHL_EVENT_TYPES: ReadonlySet<string> = new Set([
  "INSTALL",
  "UNINSTALL",
  "ContactCreate",
  "ContactUpdate",
  "ContactDelete",
  "ContactDndUpdate",
  "ContactTagUpdate",
  "NoteCreate",
  "NoteUpdate",
  "NoteDelete",
  "TaskCreate",
  "TaskComplete",
  "TaskDelete",
]);
const SKEW_WARNING_MS = 60_000;
const SKEW_LOG_INTERVAL_MS = 10 * 60_000;

const DEPTH_CACHE_MS = 200;

/**
 * Registers `POST /webhooks/ghl`: checks the signature, drops repeats by
 * webhookId, and returns 200 only after the event is in the durable inbox.
 * When the inbox is over its depth limit or cannot be written it returns
 * 429, because that is the only status after which GHL delivers again.
 */
export function registerGhlWebhookRoute(
  app: FastifyInstance,
  options: GhlWebhookOptions,
): void {
  const { queue, logger, metrics } = options;
  const warnedLocations = new Set<string>();
  let depthCache = { value: 0, at: 0 };
  let lastSkewLogAt = 0;

  /**
   * Checks the body's `timestamp` against the window and logs clock skew,
   * at most once per 10 minutes. Returns a rejection reason or null.
   */
  function checkTimestamp(
    payload: Record<string, unknown>,
    type: string,
  ): "stale" | "future" | "invalid" | null {
    const window = options.timestampWindow;
    if (window === undefined || payload.timestamp === undefined) return null;
    const sentAt =
      typeof payload.timestamp === "string" ||
      typeof payload.timestamp === "number"
        ? new Date(payload.timestamp).getTime()
        : Number.NaN;
    if (Number.isNaN(sentAt)) return "invalid";
    const now = Date.now();
    const skewMs = sentAt - now;
    if (
      skewMs > SKEW_WARNING_MS &&
      now - lastSkewLogAt > SKEW_LOG_INTERVAL_MS
    ) {
      lastSkewLogAt = now;
      logger.warn(
        { skewMs, eventType: type },
        `a GHL webhook timestamp is ${Math.round(skewMs / 1000)} s ahead of this server's clock; check the server's time sync (logged at most every 10 minutes)`,
      );
    }
    metrics.webhookSkew.observe(skewMs / 1000);
    if (skewMs > window.maxFutureSkewMs) return "future";
    if (now - sentAt > window.maxAgeMs) return "stale";
    return null;
  }

  async function inboxFull(): Promise<boolean> {
    const now = Date.now();
    if (now - depthCache.at > DEPTH_CACHE_MS)
      depthCache = { value: await queue.depth(), at: now };
    return depthCache.value >= options.maxInboxDepth;
  }

  app.post(
    "/webhooks/ghl",
    async (request: FastifyRequest, reply: FastifyReply) => {
      const raw = request.body;
      if (!Buffer.isBuffer(raw)) {
        metrics.webhooks.inc({
          type: "unknown",
          result: "rejected_content_type",
        });
        return reply.code(415).send({
          error: "unsupported_media_type",
          message: "send the body as application/json",
        });
      }
      let body: unknown;
      try {
        // A leading byte order mark is not part of the JSON text.
        body = JSON.parse(raw.toString("utf8").replace(/^\uFEFF/, ""));
      } catch {
        metrics.webhooks.inc({ type: "unknown", result: "rejected_malformed" });
        return reply.code(400).send({
          error: "malformed_json",
          message: "the request body is not valid JSON",
        });
      }
      if (body === null || typeof body !== "object" || Array.isArray(body)) {
        metrics.webhooks.inc({ type: "unknown", result: "rejected_malformed" });
        return reply.code(400).send({
          error: "malformed_event",
          message: "the request body must be a JSON object",
        });
      }
      const payload = body as Record<string, unknown>;
      // Unknown types share one name so that metric labels stay bounded.
      const type =
        typeof payload.type !== "string"
          ? "unknown"
          : options.syncedTypes.has(payload.type) ||
              GHL_EVENT_TYPES.has(payload.type)
            ? payload.type
            : "other";

      if (options.keys) {
        const check = checkWebhookSignature(raw, request.headers, options.keys);
        if (!check.valid) {
          metrics.webhooks.inc({
            type,
            result: `rejected_signature_${check.reason}`,
          });
          request.log.warn(
            { eventType: type, reason: check.reason },
            "webhook rejected: signature " + check.reason,
          );
          return reply.code(401).send({
            error: `signature_${check.reason}`,
            message: "signature missing or invalid",
          });
        }
      }

      const timestampProblem = checkTimestamp(payload, type);
      if (timestampProblem !== null) {
        metrics.webhooks.inc({
          type,
          result: `rejected_timestamp_${timestampProblem}`,
        });
        request.log.warn(
          { eventType: type, reason: timestampProblem },
          `webhook rejected: timestamp ${timestampProblem}`,
        );
        return reply.code(401).send({
          error: `timestamp_${timestampProblem}`,
          message:
            "the timestamp is outside the accepted window; the delivery looks replayed",
        });
      }

      if ((type === "INSTALL" || type === "UNINSTALL") && options.appEvents) {
        try {
          if (type === "INSTALL") await options.appEvents.install(payload);
          else await options.appEvents.uninstall(payload);
        } catch (error) {
          metrics.webhooks.inc({ type, result: "throttled_store_error" });
          logger.error(
            { err: error, eventType: type },
            "storing an app event failed; answered 429 so GHL delivers it again",
          );
          return reply.code(429).header("retry-after", "60").send({
            error: "busy",
            message: "app event not stored; deliver again later",
          });
        }
        metrics.webhooks.inc({ type, result: "accepted" });
        return reply.code(200).send({ status: "accepted" });
      }

      if (!options.syncedTypes.has(type)) {
        metrics.webhooks.inc({ type, result: "ignored_type" });
        return reply
          .code(200)
          .send({ status: "ignored", reason: "event type not synced" });
      }
      const locationId =
        typeof payload.locationId === "string" ? payload.locationId : "";
      const state = options.locationState(locationId);
      if (state !== "active") {
        metrics.webhooks.inc({ type, result: `ignored_location_${state}` });
        if (
          state === "unknown" &&
          !warnedLocations.has(locationId) &&
          warnedLocations.size < 1000
        ) {
          warnedLocations.add(locationId);
          logger.warn(
            { locationId },
            "webhooks from a location that is not in ghl.locations are ignored; add it to the config to sync it (logged once per location)",
          );
        }
        return reply
          .code(200)
          .send({ status: "ignored", reason: `location ${state}` });
      }
      const recordId = typeof payload.id === "string" ? payload.id : "";
      if (recordId === "") {
        metrics.webhooks.inc({ type, result: "rejected_missing_id" });
        return reply.code(400).send({
          error: "missing_id",
          message: "the event has no string id field",
        });
      }

      if (await inboxFull()) {
        metrics.webhooks.inc({ type, result: "throttled_inbox_full" });
        return reply
          .code(429)
          .header("retry-after", "60")
          .send({ error: "busy", message: "inbox full; deliver again later" });
      }

      const webhookId =
        typeof payload.webhookId === "string" && payload.webhookId !== ""
          ? payload.webhookId
          : null;
      const receivedAt = Date.now();
      const event: InboxEvent = {
        source: "ghl",
        accountId: locationId,
        type,
        orderingKey: orderingKeyOf(type, locationId, recordId, payload),
        deliveryId: webhookId,
        receivedAt,
        sourceUpdatedAt: sourceUpdateTime(payload),
        runAt: DELAYED_TYPES.has(type)
          ? receivedAt + (options.coalesceMs ?? 0)
          : receivedAt,
        ...(DELAYED_TYPES.has(type) && (options.coalesceMs ?? 0) > 0
          ? { maxHoldMs: MAX_HOLD_FACTOR * (options.coalesceMs ?? 0) }
          : {}),
        payload,
      };
      let result: string;
      try {
        [result = "accepted"] = await queue.enqueue([event]);
      } catch (error) {
        metrics.webhooks.inc({ type, result: "throttled_store_error" });
        logger.error(
          { err: error, eventType: type, locationId },
          "writing a webhook to the inbox failed; answered 429",
        );
        return reply.code(429).header("retry-after", "60").send({
          error: "busy",
          message: "inbox unavailable; deliver again later",
        });
      }
      // Counts this event until the next depth read, so a burst cannot overshoot the limit.
      if (result === "accepted") depthCache.value += 1;
      metrics.webhooks.inc({ type, result });
      return reply.code(200).send({ status: result });
    },
  );
}

/**
 * Events of one contact run in order: its own events are keyed by its id,
 * and its tasks' and notes' events by their `contactId`, so a task never
 * overtakes the creation of its contact. A task event without `contactId`
 * is keyed by the task's id.
 */
export function orderingKeyOf(
  type: string,
  locationId: string,
  recordId: string,
  payload: Record<string, unknown>,
): string {
  const child = type.startsWith("Task") || type.startsWith("Note");
  if (!child) return `ghl:${locationId}:contact:${recordId}`;
  const contactId = payload.contactId;
  if (typeof contactId === "string" && contactId !== "")
    return `ghl:${locationId}:contact:${contactId}`;
  return `ghl:${locationId}:${type.startsWith("Task") ? "task" : "note"}:${recordId}`;
}
