import type { Database } from "better-sqlite3";
import type {
  Connection,
  ConnectionStore,
  ConnectionWrite,
  PendingInstall,
} from "../../engine/ports.js";

interface ConnectionRow {
  kind: Connection["kind"];
  id: string;
  company_id: string | null;
  sealed_tokens: string | null;
  expires_at: number | null;
  status: Connection["status"];
  status_message: string | null;
  next_probe_at: number | null;
  version: number;
  updated_at: number;
}

function fromRow(row: ConnectionRow): Connection {
  return {
    kind: row.kind,
    id: row.id,
    companyId: row.company_id,
    sealedTokens: row.sealed_tokens,
    expiresAt: row.expires_at,
    status: row.status,
    statusMessage: row.status_message,
    nextProbeAt: row.next_probe_at,
    version: row.version,
    updatedAt: row.updated_at,
  };
}

/**
 * The ConnectionStore port on SQLite. Pending installs store a missing
 * location or company id as "" because SQLite primary keys treat NULLs as
 * distinct.
 */
export class SqliteConnectionStore implements ConnectionStore {
  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {}

  getConnection(
    kind: Connection["kind"],
    id: string,
  ): Promise<Connection | null> {
    const row = this.db
      .prepare("SELECT * FROM connections WHERE kind = ? AND id = ?")
      .get(kind, id) as ConnectionRow | undefined;
    return Promise.resolve(row ? fromRow(row) : null);
  }

  listConnections(): Promise<Connection[]> {
    const rows = this.db
      .prepare("SELECT * FROM connections ORDER BY kind, id")
      .all() as ConnectionRow[];
    return Promise.resolve(rows.map(fromRow));
  }

  saveConnection(
    connection: ConnectionWrite,
    expectedVersion: number,
  ): Promise<Connection | null> {
    const values = {
      kind: connection.kind,
      id: connection.id,
      companyId: connection.companyId,
      sealedTokens: connection.sealedTokens,
      expiresAt: connection.expiresAt,
      status: connection.status,
      statusMessage: connection.statusMessage,
      nextProbeAt: connection.nextProbeAt,
      version: expectedVersion + 1,
      updatedAt: this.now(),
      expectedVersion,
    };
    const write = this.db.transaction(() => {
      const result =
        expectedVersion === 0
          ? this.db
              .prepare(
                `INSERT OR IGNORE INTO connections
                   (kind, id, company_id, sealed_tokens, expires_at, status, status_message, next_probe_at, version, updated_at)
                 VALUES (@kind, @id, @companyId, @sealedTokens, @expiresAt, @status, @statusMessage, @nextProbeAt, @version, @updatedAt)`,
              )
              .run(values)
          : this.db
              .prepare(
                `UPDATE connections SET company_id = @companyId, sealed_tokens = @sealedTokens,
                   expires_at = @expiresAt, status = @status, status_message = @statusMessage,
                   next_probe_at = @nextProbeAt, version = @version, updated_at = @updatedAt
                 WHERE kind = @kind AND id = @id AND version = @expectedVersion`,
              )
              .run(values);
      return result.changes === 1;
    });
    if (!write.immediate()) return Promise.resolve(null);
    return this.getConnection(connection.kind, connection.id);
  }

  deleteConnection(kind: Connection["kind"], id: string): Promise<void> {
    this.db
      .prepare("DELETE FROM connections WHERE kind = ? AND id = ?")
      .run(kind, id);
    return Promise.resolve();
  }

  tryLock(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    const result = this.db
      .prepare(
        `INSERT INTO locks (name, owner, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
         WHERE locks.expires_at <= ? OR locks.owner = excluded.owner`,
      )
      .run(name, owner, now + ttlMs, now);
    return Promise.resolve(result.changes === 1);
  }

  unlock(name: string, owner: string): Promise<void> {
    this.db
      .prepare("DELETE FROM locks WHERE name = ? AND owner = ?")
      .run(name, owner);
    return Promise.resolve();
  }

  addPendingInstall(install: PendingInstall): Promise<void> {
    this.db
      .prepare(
        "INSERT OR IGNORE INTO pending_installs (location_id, company_id, received_at) VALUES (?, ?, ?)",
      )
      .run(
        install.locationId ?? "",
        install.companyId ?? "",
        install.receivedAt,
      );
    return Promise.resolve();
  }

  listPendingInstalls(): Promise<PendingInstall[]> {
    const rows = this.db
      .prepare(
        "SELECT location_id, company_id, received_at FROM pending_installs ORDER BY received_at",
      )
      .all() as {
      location_id: string;
      company_id: string;
      received_at: number;
    }[];
    return Promise.resolve(
      rows.map((row) => ({
        locationId: row.location_id === "" ? null : row.location_id,
        companyId: row.company_id === "" ? null : row.company_id,
        receivedAt: row.received_at,
      })),
    );
  }

  removePendingInstall(
    locationId: string | null,
    companyId: string | null,
  ): Promise<void> {
    if (locationId !== null) {
      this.db
        .prepare("DELETE FROM pending_installs WHERE location_id = ?")
        .run(locationId);
    } else {
      this.db
        .prepare(
          "DELETE FROM pending_installs WHERE location_id = '' AND company_id = ?",
        )
        .run(companyId ?? "");
    }
    return Promise.resolve();
  }
}
