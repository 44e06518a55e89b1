import { readFileSync } from "node:fs";
import path from "node:path";
import type { Config } from "../config/schema.js";
import {
  PUBLISHED_ED25519_PUBLIC_KEY,
  PUBLISHED_RSA_PUBLIC_KEY,
} from "../connectors/ghl/published-keys.js";
import {
  parsePublicKeys,
  type WebhookKeys,
} from "../connectors/ghl/webhook-signature.js";

/** Reads a key given inline as PEM text or as a file path relative to `baseDir`. */
function readPem(value: string, baseDir: string, label: string): string {
  if (value.includes("-----BEGIN")) return value;
  const file = path.resolve(baseDir, value);
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(
      `${label}: cannot read key file ${file}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** The webhook keys from config, with GHL's published keys where the config names none. */
export function loadWebhookKeys(
  config: Config["ghl"]["webhooks"],
  baseDir: string,
): WebhookKeys {
  const ed25519 = (
    config.ed25519_public_keys ?? [PUBLISHED_ED25519_PUBLIC_KEY]
  ).map((value, i) =>
    readPem(value, baseDir, `ghl.webhooks.ed25519_public_keys[${i}]`),
  );
  const rsa = (config.rsa_public_keys ?? [PUBLISHED_RSA_PUBLIC_KEY]).map(
    (value, i) => readPem(value, baseDir, `ghl.webhooks.rsa_public_keys[${i}]`),
  );
  return {
    ed25519: parsePublicKeys(
      ed25519,
      "ed25519",
      "ghl.webhooks.ed25519_public_keys",
    ),
    rsa: parsePublicKeys(rsa, "rsa", "ghl.webhooks.rsa_public_keys"),
  };
}
