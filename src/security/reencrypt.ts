import type { Connection, ConnectionStore } from "../engine/ports.js";
import { sealedKeyId, type SecretBox } from "./secret-box.js";

export interface ReencryptResult {
  /** Connections whose secrets were sealed again under the new key. */
  reencrypted: number;
  /** Connections already sealed under the new key, left as they were. */
  alreadyCurrent: number;
}

/**
 * Opens every stored secret with `from` and seals it with `to`. Each write
 * is a compare-and-swap, so a refresh that runs at the same time is not
 * lost: the connection is read again and sealed again. Running it twice is
 * harmless, since secrets already under `to` are skipped.
 */
export async function reencryptConnections(
  store: ConnectionStore,
  from: SecretBox,
  to: SecretBox,
  progress: {
    onStart?: (total: number) => void;
    onConnection?: () => void;
  } = {},
): Promise<ReencryptResult> {
  const result: ReencryptResult = { reencrypted: 0, alreadyCurrent: 0 };
  const connections = await store.listConnections();
  progress.onStart?.(connections.length);
  for (const listed of connections) {
    await reencryptOne(store, listed, from, to, result);
    progress.onConnection?.();
  }
  return result;
}

/** Re-encrypts one connection, reading it again after a concurrent write, and counts it in `result`. */
async function reencryptOne(
  store: ConnectionStore,
  listed: Connection,
  from: SecretBox,
  to: SecretBox,
  result: ReencryptResult,
): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    const connection = await store.getConnection(listed.kind, listed.id);
    if (connection === null || connection.sealedTokens === null) return;
    if (sealedKeyId(connection.sealedTokens) === to.keyId) {
      result.alreadyCurrent += 1;
      return;
    }
    const sealedTokens = to.seal(from.open(connection.sealedTokens));
    const saved = await store.saveConnection(
      { ...connection, sealedTokens },
      connection.version,
    );
    if (saved !== null) {
      result.reencrypted += 1;
      return;
    }
    if (attempt >= 10)
      throw new Error(
        `the ${connection.kind} connection ${connection.id} kept changing while it was re-encrypted; stop the service and run the command again`,
      );
  }
}
