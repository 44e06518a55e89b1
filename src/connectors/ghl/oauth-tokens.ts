import { AccountUnavailableError } from "../../engine/errors.js";
import { randomUUID } from "node:crypto";
import { ApiError } from "../../engine/errors.js";
import type {
  Connection,
  ConnectionStore,
  ConnectionWrite,
  Logger,
} from "../../engine/ports.js";
import type { SecretBox } from "../../security/secret-box.js";
import type { GhlTokenSource } from "./client.js";
import {
  isInvalidGrant,
  oauthErrorText,
  type GhlOAuthClient,
  type TokenAnswer,
} from "./oauth-client.js";

/** The reason a location has no usable token. */
export type UnavailableReason =
  "not_connected" | "needs_authorization" | "paused";

/**
 * A location whose connection cannot give a token now. Jobs that meet it
 * should wait, not fail: the operator reconnects or GHL reactivates the
 * location, and the queued changes go out then.
 */
export class ConnectionUnavailableError extends AccountUnavailableError {
  override name = "ConnectionUnavailableError";
  readonly retryable = true;

  constructor(
    readonly locationId: string,
    readonly reason: UnavailableReason,
    message: string,
  ) {
    super("ghl", locationId, message);
  }
}

/** The tokens kept sealed in a connection. */
interface TokenPair {
  accessToken: string;
  refreshToken: string | null;
}

export interface OAuthTokenSourceOptions {
  store: ConnectionStore;
  box: SecretBox;
  oauth: GhlOAuthClient;
  logger: Logger;
  now?: () => number;
  /** Refresh this long before the access token expires; default 5 minutes. */
  refreshMarginMs?: number;
  /** Lifetime of the refresh lock, so a crashed holder frees it; default 30 s. */
  lockTtlMs?: number;
  /** Wait between probes of a paused connection; default 15 minutes. */
  probeIntervalMs?: number;
  /** Maximum time a caller waits for another process's refresh; default 60 s. */
  waitTimeoutMs?: number;
  /** Waits between looks at the store while another process refreshes. */
  sleep?: (ms: number) => Promise<void>;
}

type ConnectionKey = { kind: Connection["kind"]; id: string };

/**
 * GHL tokens from OAuth connections in the store. Refresh tokens are
 * single-use, so a refresh runs once per connection at a time: callers in
 * this process share one promise, and processes share a lock in the store.
 * The new pair is written (compare-and-swap on the version) before anyone
 * uses it. Location tokens minted from a company token have no refresh
 * token and are minted again from the company token instead.
 */
export class OAuthTokenSource implements GhlTokenSource {
  private readonly inflight = new Map<string, Promise<Connection>>();
  private readonly owner = `${process.pid}-${randomUUID()}`;
  private readonly now: () => number;
  private readonly refreshMarginMs: number;
  private readonly lockTtlMs: number;
  private readonly probeIntervalMs: number;
  private readonly waitTimeoutMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: OAuthTokenSourceOptions) {
    this.now = options.now ?? Date.now;
    this.refreshMarginMs = options.refreshMarginMs ?? 5 * 60_000;
    this.lockTtlMs = options.lockTtlMs ?? 30_000;
    this.probeIntervalMs = options.probeIntervalMs ?? 15 * 60_000;
    this.waitTimeoutMs = options.waitTimeoutMs ?? 60_000;
    this.sleep =
      options.sleep ??
      ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async getToken(locationId: string): Promise<string> {
    const key: ConnectionKey = { kind: "location", id: locationId };
    const connection = await this.usable(key);
    if (this.fresh(connection)) return this.tokensOf(connection).accessToken;
    const refreshed = await this.refresh(key, (c) => this.fresh(c));
    return this.tokensOf(refreshed).accessToken;
  }

  async refreshAfterUnauthorized(
    locationId: string,
    rejectedToken: string,
  ): Promise<string | null> {
    const key: ConnectionKey = { kind: "location", id: locationId };
    await this.usable(key);
    const refreshed = await this.refresh(
      key,
      (c) => this.tokensOf(c).accessToken !== rejectedToken && this.fresh(c),
    );
    return this.tokensOf(refreshed).accessToken;
  }

  /** Returns a company's access token, refreshed when due. */
  async getCompanyToken(companyId: string): Promise<string> {
    const key: ConnectionKey = { kind: "company", id: companyId };
    const connection = await this.usable(key);
    if (this.fresh(connection)) return this.tokensOf(connection).accessToken;
    const refreshed = await this.refresh(key, (c) => this.fresh(c));
    return this.tokensOf(refreshed).accessToken;
  }

  /**
   * Stores the tokens of a code exchange or a location token mint, replacing
   * whatever the connection held. Returns the stored connection.
   */
  async saveAnswer(
    key: ConnectionKey,
    answer: TokenAnswer,
  ): Promise<Connection> {
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const current = await this.options.store.getConnection(key.kind, key.id);
      const saved = await this.options.store.saveConnection(
        this.activeWrite(key, answer, current),
        current?.version ?? 0,
      );
      if (saved !== null) return saved;
    }
    throw new Error(
      `saving the ${key.kind} connection ${key.id} lost 10 compare-and-swap rounds in a row; another process keeps writing it`,
    );
  }

  /** Reads the sealed tokens of a connection. */
  tokensOf(connection: Connection): TokenPair {
    if (connection.sealedTokens === null)
      throw new ConnectionUnavailableError(
        connection.id,
        "not_connected",
        `the GHL ${connection.kind} ${connection.id} has no stored tokens; connect it by OAuth`,
      );
    return JSON.parse(
      this.options.box.open(connection.sealedTokens),
    ) as TokenPair;
  }

  private fresh(connection: Connection): boolean {
    return (
      connection.status === "active" &&
      connection.sealedTokens !== null &&
      connection.expiresAt !== null &&
      connection.expiresAt - this.refreshMarginMs > this.now()
    );
  }

  /** Loads a connection and rejects one that cannot give a token now. */
  private async usable(key: ConnectionKey): Promise<Connection> {
    const connection = await this.options.store.getConnection(key.kind, key.id);
    if (
      connection === null ||
      connection.sealedTokens === null ||
      connection.status === "uninstalled"
    ) {
      throw new ConnectionUnavailableError(
        key.id,
        "not_connected",
        `GHL ${key.kind} ${key.id} is not connected; install the app on it or connect it at /oauth/connect`,
      );
    }
    if (connection.status === "needs_authorization") {
      throw new ConnectionUnavailableError(
        key.id,
        "needs_authorization",
        `GHL ${key.kind} ${key.id} needs a new authorization: ${connection.statusMessage ?? "its refresh token was rejected"}; reconnect it at /oauth/connect`,
      );
    }
    if (
      connection.status === "paused" &&
      (connection.nextProbeAt ?? 0) > this.now()
    ) {
      throw this.pausedError(connection);
    }
    return connection;
  }

  private pausedError(connection: Connection): ConnectionUnavailableError {
    return new ConnectionUnavailableError(
      connection.id,
      "paused",
      `GHL ${connection.kind} ${connection.id} is paused: ${connection.statusMessage ?? "GHL refused a token refresh"}; next try at ${new Date(connection.nextProbeAt ?? 0).toISOString()}`,
    );
  }

  /** Refreshes once per connection in this process; later callers share the running refresh. */
  private refresh(
    key: ConnectionKey,
    satisfied: (connection: Connection) => boolean,
  ): Promise<Connection> {
    const name = `${key.kind}:${key.id}`;
    const running = this.inflight.get(name);
    if (running) return running;
    const started = this.refreshAcrossProcesses(key, satisfied).finally(() => {
      this.inflight.delete(name);
    });
    this.inflight.set(name, started);
    return started;
  }

  /**
   * Takes the store lock of the connection and refreshes under it. While
   * another process holds the lock, waits for its new pair to appear.
   */
  private async refreshAcrossProcesses(
    key: ConnectionKey,
    satisfied: (connection: Connection) => boolean,
  ): Promise<Connection> {
    const lockName = `ghl-refresh:${key.kind}:${key.id}`;
    const deadline = this.now() + this.waitTimeoutMs;
    let delayMs = 20;
    for (;;) {
      if (
        await this.options.store.tryLock(lockName, this.owner, this.lockTtlMs)
      ) {
        try {
          return await this.refreshUnderLock(key, satisfied);
        } finally {
          await this.options.store.unlock(lockName, this.owner);
        }
      }
      const current = await this.usable(key);
      if (satisfied(current)) return current;
      if (this.now() > deadline) {
        throw new Error(
          `timed out after ${this.waitTimeoutMs} ms waiting for another process to refresh the GHL ${key.kind} ${key.id}`,
        );
      }
      await this.sleep(delayMs * (0.5 + Math.random()));
      delayMs = Math.min(delayMs * 2, 500);
    }
  }

  private async refreshUnderLock(
    key: ConnectionKey,
    satisfied: (connection: Connection) => boolean,
  ): Promise<Connection> {
    // Another process may have refreshed between our read and our lock.
    const current = await this.usable(key);
    if (satisfied(current)) return current;
    const tokens = this.tokensOf(current);

    let answer: TokenAnswer;
    try {
      answer = await this.fetchNewTokens(current, tokens);
    } catch (error) {
      return this.handleRefreshFailure(key, current, error);
    }
    const saved = await this.options.store.saveConnection(
      this.activeWrite(key, answer, current),
      current.version,
    );
    if (saved !== null) {
      this.options.logger.info(
        { connection: key.kind, id: key.id, expiresAt: saved.expiresAt },
        "GHL token refreshed",
      );
      return saved;
    }
    // The lock expired while we waited on GHL and another process wrote a
    // newer pair; ours may already be spent by then, so use theirs.
    const latest = await this.usable(key);
    if (satisfied(latest)) return latest;
    throw new Error(
      `the GHL ${key.kind} ${key.id} changed while it was being refreshed; the refresh lock (${this.lockTtlMs} ms) is shorter than the token request took`,
    );
  }

  private async fetchNewTokens(
    connection: Connection,
    tokens: TokenPair,
  ): Promise<TokenAnswer> {
    if (tokens.refreshToken !== null) {
      return this.options.oauth.refresh(
        tokens.refreshToken,
        connection.kind === "company" ? "Company" : "Location",
      );
    }
    if (connection.kind === "location" && connection.companyId !== null) {
      const companyToken = await this.getCompanyToken(connection.companyId);
      return this.options.oauth.locationToken(
        companyToken,
        connection.companyId,
        connection.id,
      );
    }
    throw new ConnectionUnavailableError(
      connection.id,
      "needs_authorization",
      `GHL ${connection.kind} ${connection.id} has neither a refresh token nor a company to mint a token from; reconnect it at /oauth/connect`,
    );
  }

  /**
   * `invalid_grant` after a re-read that shows no newer pair marks the
   * connection as needing authorization. Any other 4xx pauses it with GHL's
   * message and a probe time. Network errors and 5xx change nothing.
   */
  private async handleRefreshFailure(
    key: ConnectionKey,
    used: Connection,
    error: unknown,
  ): Promise<Connection> {
    if (isInvalidGrant(error)) {
      const latest = await this.options.store.getConnection(key.kind, key.id);
      if (
        latest !== null &&
        latest.version !== used.version &&
        this.fresh(latest)
      )
        return latest;
      await this.setStatus(
        used,
        "needs_authorization",
        "GHL rejected the refresh token (invalid_grant)",
        null,
      );
      this.options.logger.error(
        { connection: key.kind, id: key.id },
        `GHL rejected the refresh token of ${key.kind} ${key.id}; its writes stop until it is reconnected at /oauth/connect`,
      );
      throw new ConnectionUnavailableError(
        key.id,
        "needs_authorization",
        `GHL ${key.kind} ${key.id} needs a new authorization: its refresh token was rejected; reconnect it at /oauth/connect`,
      );
    }
    if (
      error instanceof ApiError &&
      error.status !== null &&
      error.status >= 400 &&
      error.status < 500 &&
      error.status !== 408 &&
      error.status !== 429
    ) {
      const message = oauthErrorText(error.body) || `HTTP ${error.status}`;
      const nextProbeAt = this.now() + this.probeIntervalMs;
      const paused = await this.setStatus(used, "paused", message, nextProbeAt);
      this.options.logger.warn(
        { connection: key.kind, id: key.id, status: error.status, nextProbeAt },
        `GHL refused to refresh the token of ${key.kind} ${key.id} (${message}); the connection is paused and tried again at ${new Date(nextProbeAt).toISOString()}`,
      );
      throw this.pausedError(
        paused ?? { ...used, statusMessage: message, nextProbeAt },
      );
    }
    throw error;
  }

  private async setStatus(
    used: Connection,
    status: Connection["status"],
    message: string,
    nextProbeAt: number | null,
  ): Promise<Connection | null> {
    return this.options.store.saveConnection(
      {
        kind: used.kind,
        id: used.id,
        companyId: used.companyId,
        sealedTokens: used.sealedTokens,
        expiresAt: used.expiresAt,
        status,
        statusMessage: message,
        nextProbeAt,
      },
      used.version,
    );
  }

  private activeWrite(
    key: ConnectionKey,
    answer: TokenAnswer,
    current: Connection | null,
  ): ConnectionWrite {
    const pair: TokenPair = {
      accessToken: answer.accessToken,
      refreshToken: answer.refreshToken,
    };
    return {
      kind: key.kind,
      id: key.id,
      companyId: answer.companyId ?? current?.companyId ?? null,
      sealedTokens: this.options.box.seal(JSON.stringify(pair)),
      expiresAt: this.now() + answer.expiresIn * 1000,
      status: "active",
      statusMessage: null,
      nextProbeAt: null,
    };
  }
}
