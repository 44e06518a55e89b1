import { randomUUID } from "node:crypto";
import {
  signWebhookBody,
  type SandboxSigningKeys,
  type SignatureAlgorithm,
} from "./webhook-signing.js";

/** Options of one webhook delivery. */
export interface SendWebhookOptions {
  /** Signature headers to add; default `ed25519` (`x-ghl-signature` only). */
  signWith?: SignatureAlgorithm | "none";
  /** Exact body to send and sign instead of the serialised payload; no ids are added to it. */
  rawBody?: string;
  /** Time to wait for the response before aborting; default 10 000 ms. */
  timeoutMs?: number;
}

/** Response of the receiver to one webhook delivery. */
export interface WebhookDelivery {
  status: number;
  /** Response body, parsed as JSON when it is JSON, else the text. */
  body: unknown;
  headers: Record<string, string>;
  /** The exact body that was sent, so a retry can send the same bytes. */
  sentBody: string;
}

const LOOPBACK_HOSTNAMES = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * Adds `webhookId` (a UUID) and `timestamp` (ISO 8601) to a payload that lacks them, as GHL
 * does for each delivery. Keys already present keep their values.
 */
export function withDeliveryIds(
  payload: Record<string, unknown>,
): Record<string, unknown> {
  return {
    ...payload,
    webhookId: payload.webhookId ?? randomUUID(),
    timestamp: payload.timestamp ?? new Date().toISOString(),
  };
}

/**
 * POSTs a signed webhook as `application/json` over real HTTP. The target must be a loopback
 * address, because the sandbox only talks to services on this machine. Throws on network errors
 * and timeouts; any HTTP status is returned.
 */
export async function sendWebhook(
  keys: SandboxSigningKeys,
  targetUrl: string,
  payload: Record<string, unknown>,
  options: SendWebhookOptions = {},
): Promise<WebhookDelivery> {
  const url = new URL(targetUrl);
  if (!LOOPBACK_HOSTNAMES.has(url.hostname)) {
    throw new Error(
      `Webhook target must be on a loopback address (127.0.0.1, localhost or [::1]), got ${url.host}`,
    );
  }
  const sentBody = options.rawBody ?? JSON.stringify(withDeliveryIds(payload));
  const signWith = options.signWith ?? "ed25519";
  const signatureHeaders =
    signWith === "none" ? {} : signWebhookBody(sentBody, keys, signWith);
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...signatureHeaders },
    body: sentBody,
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    // Not JSON: the text is returned as it is.
  }
  return {
    status: response.status,
    body,
    headers: Object.fromEntries(response.headers),
    sentBody,
  };
}
