import type { ConnectionStore } from "../engine/ports.js";
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
): Promise<ReencryptResult> {
  const result: ReencryptResult = { reencrypted: 0, alreadyCurrent: 0 };
  for (const listed of await store.listConnections()) {
    for (let attempt = 0; ; attempt += 1) {
      const connection = await store.getConnection(listed.kind, listed.id);
      if (connection === null || connection.sealedTokens === null) break;
      if (sealedKeyId(connection.sealedTokens) === to.keyId) {
        result.alreadyCurrent += 1;
        break;
      }
      const sealedTokens = to.seal(from.open(connection.sealedTokens));
      const saved = await store.saveConnection(
        { ...connection, sealedTokens },
        connection.version,
      );
      if (saved !== null) {
        result.reencrypted += 1;
        break;
      }
      if (attempt >= 10)
        throw new Error(
          `the ${connection.kind} connection ${connection.id} kept changing while it was re-encrypted; stop the service and run the command again`,
        );
    }
  }
  return result;
}
