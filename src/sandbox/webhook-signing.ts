import {
  createPrivateKey,
  createSign,
  sign,
  type KeyObject,
} from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Private keys the GHL sandbox signs webhooks with, and the matching public keys as PEM. */
export interface SandboxSigningKeys {
  ed25519PrivateKey: KeyObject;
  rsaPrivateKey: KeyObject;
  ed25519PublicKeyPem: string;
  rsaPublicKeyPem: string;
}

/** Signature headers to add: `x-ghl-signature` (Ed25519), `x-wh-signature` (RSA) or both. */
export type SignatureAlgorithm = "ed25519" | "rsa" | "both";

/** Signature headers of a webhook request. */
export interface WebhookSignatureHeaders {
  "x-ghl-signature"?: string;
  "x-wh-signature"?: string;
}

/**
 * Returns the folder that contains package.json, walking up from `start`. The sandbox code runs
 * both from `src/` (tests, tsx) and compiled from `dist/`, so key files are found from the root.
 */
export function findPackageRoot(start: string = import.meta.url): string {
  let folder = dirname(
    start.startsWith("file:") ? fileURLToPath(start) : start,
  );
  for (;;) {
    if (existsSync(join(folder, "package.json"))) {
      return folder;
    }
    const parent = dirname(folder);
    if (parent === folder) {
      throw new Error(`No package.json found in any parent folder of ${start}`);
    }
    folder = parent;
  }
}

let cachedKeys: SandboxSigningKeys | undefined;

/** Reads the sandbox key pairs from `src/sandbox/keys/` under the package root; cached after the first call. */
export function loadSandboxSigningKeys(): SandboxSigningKeys {
  if (cachedKeys !== undefined) {
    return cachedKeys;
  }
  const folder = join(findPackageRoot(), "src", "sandbox", "keys");
  const read = (name: string): string => {
    const file = join(folder, name);
    try {
      return readFileSync(file, "utf8");
    } catch (error) {
      throw new Error(
        `Cannot read sandbox signing key ${file}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  };
  cachedKeys = {
    ed25519PrivateKey: createPrivateKey(read("ghl-sandbox-ed25519.key")),
    rsaPrivateKey: createPrivateKey(read("ghl-sandbox-rsa.key")),
    ed25519PublicKeyPem: read("ghl-sandbox-ed25519.pub.pem"),
    rsaPublicKeyPem: read("ghl-sandbox-rsa.pub.pem"),
  };
  return cachedKeys;
}

/**
 * Signs the exact bytes of a webhook body the way GHL does: `x-ghl-signature` is a base64 Ed25519
 * signature, `x-wh-signature` a base64 RSA-SHA256 PKCS#1 v1.5 signature. A string is signed as UTF-8.
 */
export function signWebhookBody(
  raw: Buffer | string,
  keys: SandboxSigningKeys,
  algorithm: SignatureAlgorithm,
): WebhookSignatureHeaders {
  const bytes = typeof raw === "string" ? Buffer.from(raw, "utf8") : raw;
  const headers: WebhookSignatureHeaders = {};
  if (algorithm === "ed25519" || algorithm === "both") {
    headers["x-ghl-signature"] = sign(
      null,
      bytes,
      keys.ed25519PrivateKey,
    ).toString("base64");
  }
  if (algorithm === "rsa" || algorithm === "both") {
    const signer = createSign("SHA256");
    signer.update(bytes);
    signer.end();
    headers["x-wh-signature"] = signer.sign(keys.rsaPrivateKey, "base64");
  }
  return headers;
}
