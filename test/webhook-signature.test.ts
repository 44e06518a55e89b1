import { createSign, generateKeyPairSync, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  checkWebhookSignature,
  type WebhookKeys,
} from "../src/connectors/ghl/webhook-signature.js";

const ed = generateKeyPairSync("ed25519");
const otherEd = generateKeyPairSync("ed25519");
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const keys: WebhookKeys = { ed25519: [ed.publicKey], rsa: [rsa.publicKey] };

const spaced = Buffer.from(
  '{ "type": "ContactCreate", "id": "c1", "locationId": "L1" }',
);
const compact = Buffer.from(JSON.stringify(JSON.parse(spaced.toString())));

function edSignature(bytes: Buffer, key = ed.privateKey): string {
  return sign(null, bytes, key).toString("base64");
}

function rsaSignature(bytes: Buffer): string {
  return createSign("SHA256").update(bytes).sign(rsa.privateKey, "base64");
}

describe("checkWebhookSignature", () => {
  it("accepts a valid Ed25519 signature over the raw bytes", () => {
    const result = checkWebhookSignature(
      spaced,
      { "x-ghl-signature": edSignature(spaced) },
      keys,
    );
    expect(result).toEqual({ valid: true, algorithm: "ed25519", over: "raw" });
  });

  it("accepts a valid RSA signature", () => {
    const result = checkWebhookSignature(
      spaced,
      { "x-wh-signature": rsaSignature(spaced) },
      keys,
    );
    expect(result).toEqual({
      valid: true,
      algorithm: "rsa-sha256",
      over: "raw",
    });
  });

  it("accepts a signature over the compact JSON when the bytes have spaces", () => {
    const result = checkWebhookSignature(
      spaced,
      { "x-ghl-signature": edSignature(compact) },
      keys,
    );
    expect(result).toEqual({
      valid: true,
      algorithm: "ed25519",
      over: "compact-json",
    });
  });

  it("rejects a body changed after signing", () => {
    const changed = Buffer.from(spaced.toString().replace("c1", "c2"));
    const result = checkWebhookSignature(
      changed,
      { "x-ghl-signature": edSignature(spaced) },
      keys,
    );
    expect(result).toEqual({ valid: false, reason: "invalid" });
  });

  it("rejects a signature made with another key", () => {
    const result = checkWebhookSignature(
      spaced,
      { "x-ghl-signature": edSignature(spaced, otherEd.privateKey) },
      keys,
    );
    expect(result).toEqual({ valid: false, reason: "invalid" });
  });

  it.each([
    {},
    { "x-ghl-signature": "" },
    { "x-ghl-signature": "N/A", "x-wh-signature": "n/a" },
  ])("treats %o as missing", (headers) => {
    expect(checkWebhookSignature(spaced, headers, keys)).toEqual({
      valid: false,
      reason: "missing",
    });
  });

  it("rejects garbage that is not base64", () => {
    const result = checkWebhookSignature(
      spaced,
      { "x-ghl-signature": "%%%not-base64%%%" },
      keys,
    );
    expect(result).toEqual({ valid: false, reason: "invalid" });
  });

  it("falls back to RSA when the Ed25519 header is invalid", () => {
    const headers = {
      "x-ghl-signature": edSignature(spaced, otherEd.privateKey),
      "x-wh-signature": rsaSignature(spaced),
    };
    expect(checkWebhookSignature(spaced, headers, keys)).toMatchObject({
      valid: true,
      algorithm: "rsa-sha256",
    });
  });
});
