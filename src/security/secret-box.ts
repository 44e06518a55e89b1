import {
  createCipheriv,
  createDecipheriv,
  createHash,
  randomBytes,
} from "node:crypto";
import { readFileSync } from "node:fs";

/** Environment variable that holds the encryption key of stored secrets. */
export const ENCRYPTION_KEY_VARIABLE = "GHL_COOPEL_SYNC_ENCRYPTION_KEY";
/** Environment variable that names a file holding the key instead. */
export const ENCRYPTION_KEY_FILE_VARIABLE =
  "GHL_COOPEL_SYNC_ENCRYPTION_KEY_FILE";

const FORMAT = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A key that is missing, malformed or does not open a stored secret. */
export class EncryptionKeyError extends Error {
  override name = "EncryptionKeyError";
}

/**
 * Parses a 256-bit key written as 64 hex digits or as base64 of 32 bytes,
 * which is what `openssl rand -base64 32` and `openssl rand -hex 32` print.
 */
export function parseEncryptionKey(text: string, label: string): Buffer {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, "hex");
  const decoded = Buffer.from(trimmed, "base64");
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed) && decoded.length === 32)
    return decoded;
  throw new EncryptionKeyError(
    `${label} is not a 256-bit key; use 32 random bytes as base64 or hex, for example the output of \`openssl rand -base64 32\``,
  );
}

/**
 * Reads the key from GHL_COOPEL_SYNC_ENCRYPTION_KEY or from the file named by
 * GHL_COOPEL_SYNC_ENCRYPTION_KEY_FILE. Returns null when neither is set.
 */
export function loadEncryptionKey(
  env: NodeJS.ProcessEnv = process.env,
  names = {
    key: ENCRYPTION_KEY_VARIABLE,
    file: ENCRYPTION_KEY_FILE_VARIABLE,
  },
): Buffer | null {
  const inline = env[names.key];
  const file = env[names.file];
  if (
    inline !== undefined &&
    inline !== "" &&
    file !== undefined &&
    file !== ""
  )
    throw new EncryptionKeyError(
      `both ${names.key} and ${names.file} are set; set only one of them`,
    );
  if (inline !== undefined && inline !== "")
    return parseEncryptionKey(inline, names.key);
  if (file !== undefined && file !== "") {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      throw new EncryptionKeyError(
        `${names.file}: cannot read ${file}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    return parseEncryptionKey(text, `the key in ${file}`);
  }
  return null;
}

/**
 * Encrypts secrets at rest with AES-256-GCM. A sealed value reads
 * `v1.<key id>.<iv>.<tag>.<ciphertext>` (base64url parts); the key id is the
 * start of the key's SHA-256, so a value sealed under another key is
 * reported as such instead of as corrupt data.
 */
export class SecretBox {
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32)
      throw new EncryptionKeyError(
        `an AES-256 key has 32 bytes, got ${key.length}`,
      );
    this.keyId = keyIdOf(key);
  }

  seal(plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(Buffer.from(`${FORMAT}.${this.keyId}`));
    const body = Buffer.concat([
      cipher.update(plaintext, "utf8"),
      cipher.final(),
    ]);
    return [
      FORMAT,
      this.keyId,
      iv.toString("base64url"),
      cipher.getAuthTag().toString("base64url"),
      body.toString("base64url"),
    ].join(".");
  }

  /** Decrypts a sealed value; throws EncryptionKeyError for another key or tampered data. */
  open(sealed: string): string {
    const parts = sealed.split(".");
    if (parts.length !== 5 || parts[0] !== FORMAT)
      throw new EncryptionKeyError(
        "a stored secret is not in the v1 sealed format; the store may be damaged",
      );
    const [, keyId, iv, tag, body] = parts as [
      string,
      string,
      string,
      string,
      string,
    ];
    if (keyId !== this.keyId)
      throw new EncryptionKeyError(
        `a stored secret was encrypted under key ${keyId}, but the configured key is ${this.keyId}; set the old key or run \`ghl-coopel-sync reencrypt\``,
      );
    try {
      const decipher = createDecipheriv(
        "aes-256-gcm",
        this.key,
        Buffer.from(iv, "base64url"),
        { authTagLength: TAG_BYTES },
      );
      decipher.setAAD(Buffer.from(`${FORMAT}.${keyId}`));
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      return Buffer.concat([
        decipher.update(Buffer.from(body, "base64url")),
        decipher.final(),
      ]).toString("utf8");
    } catch (error) {
      throw new EncryptionKeyError(
        "a stored secret failed its integrity check; it was changed or damaged",
        { cause: error },
      );
    }
  }
}

/** The key id written into sealed values: 8 hex digits of the key's SHA-256. */
export function keyIdOf(key: Buffer): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 8);
}

/** The key id of a sealed value, or null when it is not one. */
export function sealedKeyId(sealed: string): string | null {
  const parts = sealed.split(".");
  return parts.length === 5 && parts[0] === FORMAT ? (parts[1] ?? null) : null;
}
