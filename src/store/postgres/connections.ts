import type { Pool } from "pg";
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
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    status: row.status,
    statusMessage: row.status_message,
    nextProbeAt: row.next_probe_at === null ? null : Number(row.next_probe_at),
    version: Number(row.version),
    updatedAt: Number(row.updated_at),
  };
}

/**
 * The ConnectionStore port on PostgreSQL. The compare-and-swap on `version`
 * and the lock row make a token refresh run once per location across every
 * process that shares the database.
 */
export class PostgresConnectionStore implements ConnectionStore {
  constructor(
    private readonly pool: Pool,
    private readonly now: () => number = Date.now,
  ) {}

  async getConnection(
    kind: Connection["kind"],
    id: string,
  ): Promise<Connection | null> {
    const { rows } = await this.pool.query<ConnectionRow>(
      "SELECT * FROM connections WHERE kind = $1 AND id = $2",
      [kind, id],
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async listConnections(): Promise<Connection[]> {
    const { rows } = await this.pool.query<ConnectionRow>(
      "SELECT * FROM connections ORDER BY kind, id",
    );
    return rows.map(fromRow);
  }

  async saveConnection(
    connection: ConnectionWrite,
    expectedVersion: number,
  ): Promise<Connection | null> {
    const values = [
      connection.kind,
      connection.id,
      connection.companyId,
      connection.sealedTokens,
      connection.expiresAt,
      connection.status,
      connection.statusMessage,
      connection.nextProbeAt,
      expectedVersion + 1,
      this.now(),
    ];
    const result =
      expectedVersion === 0
        ? await this.pool.query<ConnectionRow>(
            `INSERT INTO connections
               (kind, id, company_id, sealed_tokens, expires_at, status, status_message, next_probe_at, version, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (kind, id) DO NOTHING
             RETURNING *`,
            values,
          )
        : await this.pool.query<ConnectionRow>(
            `UPDATE connections SET company_id = $3, sealed_tokens = $4, expires_at = $5, status = $6,
               status_message = $7, next_probe_at = $8, version = $9, updated_at = $10
             WHERE kind = $1 AND id = $2 AND version = $11
             RETURNING *`,
            [...values, expectedVersion],
          );
    return result.rows[0] ? fromRow(result.rows[0]) : null;
  }

  async deleteConnection(kind: Connection["kind"], id: string): Promise<void> {
    await this.pool.query(
      "DELETE FROM connections WHERE kind = $1 AND id = $2",
      [kind, id],
    );
  }

  async tryLock(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    const result = await this.pool.query(
      `INSERT INTO locks (name, owner, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
       WHERE locks.expires_at <= $4 OR locks.owner = excluded.owner`,
      [name, owner, now + ttlMs, now],
    );
    return result.rowCount === 1;
  }

  async unlock(name: string, owner: string): Promise<void> {
    await this.pool.query("DELETE FROM locks WHERE name = $1 AND owner = $2", [
      name,
      owner,
    ]);
  }

  async addPendingInstall(install: PendingInstall): Promise<void> {
    await this.pool.query(
      `INSERT INTO pending_installs (location_id, company_id, received_at) VALUES ($1, $2, $3)
       ON CONFLICT (location_id, company_id) DO NOTHING`,
      [install.locationId ?? "", install.companyId ?? "", install.receivedAt],
    );
  }

  async listPendingInstalls(): Promise<PendingInstall[]> {
    const { rows } = await this.pool.query<{
      location_id: string;
      company_id: string;
      received_at: number;
    }>(
      "SELECT location_id, company_id, received_at FROM pending_installs ORDER BY received_at",
    );
    return rows.map((row) => ({
      locationId: row.location_id === "" ? null : row.location_id,
      companyId: row.company_id === "" ? null : row.company_id,
      receivedAt: Number(row.received_at),
    }));
  }

  async removePendingInstall(
    locationId: string | null,
    companyId: string | null,
  ): Promise<void> {
    if (locationId !== null) {
      await this.pool.query(
        "DELETE FROM pending_installs WHERE location_id = $1",
        [locationId],
      );
      return;
    }
    await this.pool.query(
      "DELETE FROM pending_installs WHERE location_id = '' AND company_id = $1",
      [companyId ?? ""],
    );
  }
}
