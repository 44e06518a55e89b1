import {
  createPublicKey,
  createVerify,
  verify,
  type KeyObject,
} from "node:crypto";

/** Public keys that webhook signatures are checked against. */
export interface WebhookKeys {
  ed25519: KeyObject[];
  rsa: KeyObject[];
}

export type SignatureCheck =
  | {
      valid: true;
      algorithm: "ed25519" | "rsa-sha256";
      over: "raw" | "compact-json";
    }
  | { valid: false; reason: "missing" | "invalid" };

/** Parses PEM public keys; throws with the index of a key that is not a valid public key. */
export function parsePublicKeys(
  pems: string[],
  expected: "ed25519" | "rsa",
  label: string,
): KeyObject[] {
  return pems.map((pem, index) => {
    let key: KeyObject;
    try {
      key = createPublicKey(pem);
    } catch (error) {
      throw new Error(
        `${label}[${index}] is not a PEM public key: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (key.asymmetricKeyType !== expected) {
      throw new Error(
        `${label}[${index}] is a ${key.asymmetricKeyType ?? "unknown"} key; expected ${expected}`,
      );
    }
    return key;
  });
}

function headerValue(value: string | string[] | undefined): string | null {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return null;
  const trimmed = text.trim();
  // Some deliveries carry the literal N/A where no signature was made.
  if (trimmed === "" || trimmed.toUpperCase() === "N/A") return null;
  return trimmed;
}

/**
 * Checks `x-ghl-signature` (Ed25519) and then `x-wh-signature` (RSA-SHA256,
 * PKCS#1 v1.5), each base64, over the raw request bytes and, when that
 * fails, over the compact JSON re-serialisation of the body, which is what
 * GHL's own verification sample signs.
 */
export function checkWebhookSignature(
  raw: Buffer,
  headers: Record<string, string | string[] | undefined>,
  keys: WebhookKeys,
): SignatureCheck {
  const ed25519Signature = headerValue(headers["x-ghl-signature"]);
  const rsaSignature = headerValue(headers["x-wh-signature"]);
  if (ed25519Signature === null && rsaSignature === null)
    return { valid: false, reason: "missing" };

  // The compact JSON costs a parse and a stringify, so it is built only
  // when the raw bytes do not verify.
  let compact: Buffer | null | undefined;
  const candidates = function* (): Generator<{
    bytes: Buffer;
    over: "raw" | "compact-json";
  }> {
    yield { bytes: raw, over: "raw" };
    compact ??= compactJson(raw);
    if (compact && !compact.equals(raw))
      yield { bytes: compact, over: "compact-json" };
  };

  if (ed25519Signature !== null) {
    const signature = Buffer.from(ed25519Signature, "base64");
    for (const { bytes, over } of candidates()) {
      for (const key of keys.ed25519) {
        if (safeVerify(() => verify(null, bytes, key, signature)))
          return { valid: true, algorithm: "ed25519", over };
      }
    }
  }
  if (rsaSignature !== null) {
    const signature = Buffer.from(rsaSignature, "base64");
    for (const { bytes, over } of candidates()) {
      for (const key of keys.rsa) {
        const ok = safeVerify(() =>
          createVerify("SHA256").update(bytes).verify(key, signature),
        );
        if (ok) return { valid: true, algorithm: "rsa-sha256", over };
      }
    }
  }
  return { valid: false, reason: "invalid" };
}

function compactJson(raw: Buffer): Buffer | null {
  try {
    return Buffer.from(
      JSON.stringify(JSON.parse(raw.toString("utf8"))),
      "utf8",
    );
  } catch {
    return null;
  }
}

function safeVerify(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}
