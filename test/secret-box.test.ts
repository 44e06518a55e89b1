import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { hashPassword, verifyPassword } from "../src/security/passwords.js";
import {
  EncryptionKeyError,
  loadEncryptionKey,
  SecretBox,
} from "../src/security/secret-box.js";

describe("SecretBox", () => {
  it("round-trips and never stores the plaintext", () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal("refresh-token-value");
    expect(sealed).not.toContain("refresh-token-value");
    expect(box.open(sealed)).toBe("refresh-token-value");
    expect(box.seal("same")).not.toBe(box.seal("same"));
  });

  it("rejects another key and tampered data", () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal("secret");
    expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow(
      /encrypted under key .* reencrypt/,
    );
    const parts = sealed.split(".");
    parts[4] = Buffer.from("tampered").toString("base64url");
    expect(() => box.open(parts.join("."))).toThrow(/integrity check/);
  });

  it("loads the key from the variable or a file", () => {
    const key = randomBytes(32);
    expect(
      loadEncryptionKey({
        GHL_COOPEL_SYNC_ENCRYPTION_KEY: key.toString("base64"),
      }),
    ).toEqual(key);
    expect(
      loadEncryptionKey({
        GHL_COOPEL_SYNC_ENCRYPTION_KEY: key.toString("hex"),
      }),
    ).toEqual(key);
    const dir = mkdtempSync(path.join(tmpdir(), "key-"));
    try {
      const file = path.join(dir, "key");
      writeFileSync(file, `${key.toString("base64")}\n`);
      expect(
        loadEncryptionKey({ GHL_COOPEL_SYNC_ENCRYPTION_KEY_FILE: file }),
      ).toEqual(key);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(loadEncryptionKey({})).toBeNull();
    expect(() =>
      loadEncryptionKey({ GHL_COOPEL_SYNC_ENCRYPTION_KEY: "short" }),
    ).toThrow(EncryptionKeyError);
    expect(() =>
      loadEncryptionKey({
        GHL_COOPEL_SYNC_ENCRYPTION_KEY_FILE: "/nonexistent/key",
      }),
    ).toThrow(/cannot read \/nonexistent\/key/);
  });
});

describe("password hashing", () => {
  it("verifies the right password only", async () => {
    const hash = await hashPassword("correct horse");
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(await verifyPassword("correct horse", hash)).toBe(true);
    expect(await verifyPassword("wrong horse", hash)).toBe(false);
    expect(await verifyPassword("correct horse", "plain-text")).toBe(false);
  });
});
