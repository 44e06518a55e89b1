import type { LoadedConfig } from "../config/load.js";
import { openStorage, type Storage } from "../runtime/service.js";
import { hashPassword } from "../security/passwords.js";
import { noProgress, startProgress, type Progress } from "./progress.js";
import { reencryptConnections } from "../security/reencrypt.js";
import {
  ENCRYPTION_KEY_FILE_VARIABLE,
  ENCRYPTION_KEY_VARIABLE,
  EncryptionKeyError,
  loadEncryptionKey,
  SecretBox,
} from "../security/secret-box.js";

/** Variables that hold the key `reencrypt` seals under. */
export const NEW_KEY_VARIABLE = "GHL_COOPEL_SYNC_NEW_ENCRYPTION_KEY";
export const NEW_KEY_FILE_VARIABLE = "GHL_COOPEL_SYNC_NEW_ENCRYPTION_KEY_FILE";

/**
 * Re-encrypts the stored secrets from the current key to the new one.
 * Returns the exit code: 0 done, 1 failed, 2 a key or the store is not usable.
 */
export async function runReencrypt(
  loaded: LoadedConfig,
  options: { json?: boolean } = {},
  env: NodeJS.ProcessEnv = process.env,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  let from: Buffer | null;
  let to: Buffer | null;
  try {
    from = loadEncryptionKey(env);
    to = loadEncryptionKey(env, {
      key: NEW_KEY_VARIABLE,
      file: NEW_KEY_FILE_VARIABLE,
    });
  } catch (error) {
    if (!(error instanceof EncryptionKeyError)) throw error;
    err.write(`${error.message}\n`);
    return 2;
  }
  if (from === null || to === null) {
    err.write(
      `reencrypt needs the current key in ${ENCRYPTION_KEY_VARIABLE} (or ${ENCRYPTION_KEY_FILE_VARIABLE}) and the new key in ${NEW_KEY_VARIABLE} (or ${NEW_KEY_FILE_VARIABLE})\n`,
    );
    return 2;
  }
  let storage: Storage;
  try {
    storage = await openStorage(loaded.config, loaded.baseDir);
  } catch (error) {
    err.write(`${(error as Error).message}\n`);
    return 2;
  }
  let progress: Progress = noProgress;
  try {
    const result = await reencryptConnections(
      storage.connections,
      new SecretBox(from),
      new SecretBox(to),
      {
        onStart: (total) => {
          if (!options.json)
            progress = startProgress("reencrypt", total, "connections");
        },
        onConnection: () => progress.increment(),
      },
    );
    progress.stop();
    out.write(
      options.json
        ? `${JSON.stringify(result, null, 2)}\n`
        : `re-encrypted ${result.reencrypted} connection(s); ${result.alreadyCurrent} already used the new key. Set ${ENCRYPTION_KEY_VARIABLE} to the new key before the next start.\n`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof EncryptionKeyError)) throw error;
    err.write(`${error.message}\n`);
    return 1;
  } finally {
    progress.stop();
    await storage.queue.close();
    await storage.store.close();
  }
}

/** Reads a password from standard input and prints its scrypt hash for admin.password_hash. */
export async function runHashPassword(
  input: NodeJS.ReadableStream = process.stdin,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  let text = "";
  for await (const chunk of input) text += String(chunk);
  const password = text.replace(/\r?\n$/, "");
  if (password.length < 12) {
    err.write(
      "the password must have at least 12 characters; pipe it in, for example: printf '%s' \"$PASSWORD\" | ghl-coopel-sync hash-password\n",
    );
    return 2;
  }
  out.write(`${await hashPassword(password)}\n`);
  return 0;
}
