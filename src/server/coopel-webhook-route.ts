import { createHmac, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { COOPEL_CONTACT_EVENT_TYPES } from "../engine/coopel-contact-sync.js";
import { coopelContactEvent, coopelTaskEvent } from "../engine/coopel-inbox.js";
import { COOPEL_TASK_EVENT_TYPES } from "../engine/coopel-task-sync.js";
import type { Logger, Queue, TwoWayStore } from "../engine/ports.js";
import type { Metrics } from "./metrics.js";

export interface CoopelWebhookOptions {
  queue: Queue;
  store: TwoWayStore;
  logger: Logger;
  metrics: Metrics;
  accountId: string;
  secret: string;
  /** Header that carries the hex HMAC-SHA256 of the raw body. */
  signatureHeader: string;
  updatedAtField: string;
  maxInboxDepth: number;
  /** Whether the route accepts contact events; default true. */
  contacts?: boolean;
  /** Whether the route accepts task events; default false. */
  tasks?: boolean;
}

/** Computes the signature the Coopel webhook route expects: hex HMAC-SHA256 of the raw body. */
export function signCoopelBody(secret: string, body: string | Buffer): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

/** Checks a signature header value, with or without a `sha256=` prefix, in constant time. */
export function validCoopelSignature(
  secret: string,
  raw: Buffer,
  header: string | string[] | undefined,
): boolean {
  if (typeof header !== "string" || header === "") return false;
  const received = header
    .replace(/^sha256=/, "")
    .trim()
    .toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(received)) return false;
  const expected = Buffer.from(signCoopelBody(secret, raw), "hex");
  return timingSafeEqual(expected, Buffer.from(received, "hex"));
}

const CONTACT_TYPES: ReadonlySet<string> = new Set(COOPEL_CONTACT_EVENT_TYPES);
const TASK_TYPES: ReadonlySet<string> = new Set(COOPEL_TASK_EVENT_TYPES);

/**
 * Registers `POST /webhooks/coopel` for contact and task events: checks the HMAC-SHA256 signature over
 * the raw body, drops repeats by `event_id`, and returns 200 only after the
 * event is in the same durable inbox as GHL events. A full or failing inbox
 * gets 429, so that the sender delivers again.
 */
export function registerCoopelWebhookRoute(
  app: FastifyInstance,
  options: CoopelWebhookOptions,
): void {
  const { queue, logger, metrics } = options;
  const count = (type: string, result: string) =>
    metrics.webhooks.inc({ type: `coopel:${type}`, result });

  app.post(
    "/webhooks/coopel",
    async (request: FastifyRequest, reply: FastifyReply) => {
      const raw = request.body;
      if (!Buffer.isBuffer(raw)) {
        count("unknown", "rejected_content_type");
        return reply.code(415).send({
          error: "unsupported_media_type",
          message: "send the body as application/json",
        });
      }
      const signature = request.headers[options.signatureHeader.toLowerCase()];
      if (!validCoopelSignature(options.secret, raw, signature)) {
        const reason = signature === undefined ? "missing" : "invalid";
        count("unknown", `rejected_signature_${reason}`);
        request.log.warn(
          { reason, header: options.signatureHeader },
          `Coopel webhook rejected: signature ${reason}`,
        );
        return reply.code(401).send({
          error: `signature_${reason}`,
          message: `the ${options.signatureHeader} header is ${reason}; sign the raw body with HMAC-SHA256 and the shared secret in coopel.webhooks.secret`,
        });
      }
      let body: unknown;
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        count("unknown", "rejected_malformed");
        return reply.code(400).send({
          error: "malformed_json",
          message: "the request body is not valid JSON",
        });
      }
      const payload =
        body !== null && typeof body === "object" && !Array.isArray(body)
          ? (body as Record<string, unknown>)
          : {};
      const type = typeof payload.type === "string" ? payload.type : "";
      const isTask = TASK_TYPES.has(type);
      const synced = isTask
        ? options.tasks === true
        : CONTACT_TYPES.has(type) && options.contacts !== false;
      if (!synced) {
        count("other", "ignored_type");
        return reply
          .code(200)
          .send({ status: "ignored", reason: "event type not synced" });
      }
      const key = isTask ? "task" : "contact";
      const record = payload[key];
      const id =
        record !== null && typeof record === "object"
          ? (record as Record<string, unknown>).id
          : undefined;
      if (typeof id !== "string" || id === "") {
        count(type, "rejected_missing_id");
        return reply.code(400).send({
          error: "missing_id",
          message: `the event has no ${key}.id string`,
        });
      }
      try {
        if ((await queue.depth()) >= options.maxInboxDepth) {
          count(type, "throttled_inbox_full");
          return reply.code(429).header("retry-after", "60").send({
            error: "busy",
            message: "inbox full; deliver again later",
          });
        }
        const deliveryId =
          typeof payload.event_id === "string" && payload.event_id !== ""
            ? payload.event_id
            : null;
        const input = {
          accountId: options.accountId,
          type,
          deliveryId,
          updatedAtField: options.updatedAtField,
        };
        const fields = record as Record<string, unknown>;
        const event = isTask
          ? await coopelTaskEvent(options.store, { ...input, task: fields })
          : await coopelContactEvent(options.store, {
              ...input,
              contact: fields,
            });
        const [result = "accepted"] = await queue.enqueue([event]);
        count(type, result);
        return reply.code(200).send({ status: result });
      } catch (error) {
        count(type, "throttled_store_error");
        logger.error(
          {
            err: error,
            eventType: type,
            [isTask ? "coopelTaskId" : "coopelContactId"]: id,
          },
          "writing a Coopel webhook to the inbox failed; answered 429",
        );
        return reply.code(429).header("retry-after", "60").send({
          error: "busy",
          message: "inbox unavailable; deliver again later",
        });
      }
    },
  );
}
