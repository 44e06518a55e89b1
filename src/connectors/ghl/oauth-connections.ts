import { randomUUID } from "node:crypto";
import type { ConnectionStore, Logger } from "../../engine/ports.js";
import type { GhlOAuthClient, TokenAnswer } from "./oauth-client.js";
import type { OAuthTokenSource } from "./oauth-tokens.js";

/** How the webhook route treats events of a location. */
export type LocationState = "active" | "paused" | "unknown";

export interface GhlConnectionsOptions {
  store: ConnectionStore;
  tokens: OAuthTokenSource;
  oauth: GhlOAuthClient;
  logger: Logger;
  /** Locations from the config: their `paused` flag wins over any connection. */
  configured: { id: string; paused: boolean }[];
}

/** What an OAuth callback connected. */
export interface ConnectResult {
  userType: "Location" | "Company";
  companyId: string | null;
  /** Locations that got a token record in this call. */
  connected: string[];
  /** Locations that already had one and were left as they were. */
  alreadyConnected: string[];
}

const INSTALL_LOCK_TTL_MS = 30_000;

/**
 * The GHL locations the service serves and how they got connected: by
 * config, by the OAuth callback, or by an INSTALL webhook. Keeps an
 * in-memory view so that the webhook route answers without a store or token
 * lookup; `reload` refreshes it from the store for changes made by other
 * processes.
 */
export class GhlConnections {
  private readonly known = new Map<string, LocationState>();
  private readonly owner = `${process.pid}-${randomUUID()}`;

  constructor(private readonly options: GhlConnectionsOptions) {
    this.applyConfig();
  }

  /** The state of a location for incoming events; never touches the store. */
  locationState(locationId: string): LocationState {
    return this.known.get(locationId) ?? "unknown";
  }

  /** Rebuilds the view from the config, the stored connections and pending installs. */
  async reload(): Promise<void> {
    const connections = await this.options.store.listConnections();
    const pending = await this.options.store.listPendingInstalls();
    this.known.clear();
    for (const connection of connections) {
      if (connection.kind === "location" && connection.status !== "uninstalled")
        this.known.set(connection.id, "active");
    }
    for (const install of pending) {
      if (install.locationId !== null)
        this.known.set(install.locationId, "active");
    }
    this.applyConfig();
  }

  /**
   * Stores the tokens of an authorization code exchange. A company token is
   * turned into location tokens for every installed location that has none.
   */
  async connect(answer: TokenAnswer): Promise<ConnectResult> {
    if (answer.userType === "Location" && answer.locationId !== null) {
      await this.options.tokens.saveAnswer(
        { kind: "location", id: answer.locationId },
        answer,
      );
      await this.options.store.removePendingInstall(answer.locationId, null);
      this.known.set(
        answer.locationId,
        this.configuredState(answer.locationId),
      );
      this.applyConfig();
      this.options.logger.info(
        { locationId: answer.locationId },
        `GHL location ${answer.locationId} connected by OAuth`,
      );
      return {
        userType: "Location",
        companyId: answer.companyId,
        connected: [answer.locationId],
        alreadyConnected: [],
      };
    }
    if (answer.companyId === null)
      throw new Error(
        "GHL returned a token with neither locationId nor companyId; the install cannot be used",
      );
    const companyId = answer.companyId;
    await this.options.tokens.saveAnswer(
      { kind: "company", id: companyId },
      answer,
    );
    const installed = await this.options.oauth.installedLocations(
      await this.options.tokens.getCompanyToken(companyId),
      companyId,
    );
    const pending = await this.options.store.listPendingInstalls();
    const wanted = new Set(installed);
    for (const install of pending) {
      if (install.locationId !== null && install.companyId === companyId)
        wanted.add(install.locationId);
    }
    const result: ConnectResult = {
      userType: "Company",
      companyId,
      connected: [],
      alreadyConnected: [],
    };
    for (const locationId of wanted) {
      const minted = await this.mintOnce(companyId, locationId);
      (minted ? result.connected : result.alreadyConnected).push(locationId);
    }
    await this.options.store.removePendingInstall(null, companyId);
    this.options.logger.info(
      {
        companyId,
        connected: result.connected.length,
        alreadyConnected: result.alreadyConnected.length,
      },
      `GHL agency ${companyId} connected by OAuth: ${result.connected.length} new location(s), ${result.alreadyConnected.length} already connected`,
    );
    return result;
  }

  /**
   * Handles an INSTALL webhook: keeps it as a pending install, and when the
   * agency's company token is already stored, mints the location's token.
   */
  async install(payload: Record<string, unknown>): Promise<void> {
    const locationId = stringField(payload, "locationId");
    const companyId = stringField(payload, "companyId");
    await this.options.store.addPendingInstall({
      locationId,
      companyId,
      receivedAt: Date.now(),
    });
    if (locationId !== null)
      this.known.set(locationId, this.configuredState(locationId));
    this.options.logger.info(
      { locationId, companyId },
      locationId === null
        ? `app installed on GHL agency ${companyId ?? "(unknown)"}; waiting for its OAuth callback`
        : `app installed on GHL location ${locationId}`,
    );
    if (locationId === null || companyId === null) return;
    const company = await this.options.store.getConnection(
      "company",
      companyId,
    );
    if (company === null || company.status !== "active") return;
    try {
      await this.mintOnce(companyId, locationId);
    } catch (error) {
      // The pending install stays, so the next OAuth callback or reload mints it.
      this.options.logger.warn(
        { err: error, locationId, companyId },
        `minting a token for GHL location ${locationId} failed; it stays a pending install`,
      );
    }
  }

  /**
   * Refreshes paused connections whose probe time has come and mints tokens
   * for pending installs of agencies that are connected. Returns how many
   * connections it tried.
   */
  async probe(now = Date.now()): Promise<number> {
    let tried = 0;
    for (const connection of await this.options.store.listConnections()) {
      if (connection.status !== "paused" || (connection.nextProbeAt ?? 0) > now)
        continue;
      tried += 1;
      const attempt =
        connection.kind === "company"
          ? this.options.tokens.getCompanyToken(connection.id)
          : this.options.tokens.getToken(connection.id);
      await attempt.catch(() => undefined);
    }
    for (const install of await this.options.store.listPendingInstalls()) {
      if (install.locationId === null || install.companyId === null) continue;
      const company = await this.options.store.getConnection(
        "company",
        install.companyId,
      );
      if (company?.status !== "active") continue;
      tried += 1;
      await this.mintOnce(install.companyId, install.locationId).catch(
        (error: unknown) => {
          this.options.logger.warn(
            { err: error, locationId: install.locationId },
            "minting a token for a pending install failed",
          );
        },
      );
    }
    return tried;
  }

  /** Handles an UNINSTALL webhook: forgets the location's tokens, or the agency's and all its locations'. */
  async uninstall(payload: Record<string, unknown>): Promise<void> {
    const locationId = stringField(payload, "locationId");
    const companyId = stringField(payload, "companyId");
    const store = this.options.store;
    const targets: { kind: "location" | "company"; id: string }[] = [];
    if (locationId !== null) {
      targets.push({ kind: "location", id: locationId });
    } else if (companyId !== null) {
      targets.push({ kind: "company", id: companyId });
      for (const connection of await store.listConnections()) {
        if (
          connection.kind === "location" &&
          connection.companyId === companyId
        )
          targets.push({ kind: "location", id: connection.id });
      }
    }
    for (const target of targets) {
      await store.deleteConnection(target.kind, target.id);
      if (target.kind === "location") {
        await store.removePendingInstall(target.id, null);
        this.known.delete(target.id);
      }
    }
    if (locationId === null && companyId !== null)
      await store.removePendingInstall(null, companyId);
    this.applyConfig();
    this.options.logger.info(
      { locationId, companyId, removed: targets.length },
      `app uninstalled from GHL ${locationId === null ? `agency ${companyId ?? "(unknown)"}` : `location ${locationId}`}; its tokens were deleted`,
    );
  }

  /**
   * Mints and stores a location token from the company token unless the
   * location already has a token record. A store lock per location makes
   * the check and the mint happen once even when the INSTALL webhook and the
   * OAuth callback ask at the same time, in any process.
   */
  private async mintOnce(
    companyId: string,
    locationId: string,
  ): Promise<boolean> {
    const lock = `ghl-install:location:${locationId}`;
    const store = this.options.store;
    const deadline = Date.now() + INSTALL_LOCK_TTL_MS;
    while (!(await store.tryLock(lock, this.owner, INSTALL_LOCK_TTL_MS))) {
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for another process to connect GHL location ${locationId}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    try {
      const existing = await store.getConnection("location", locationId);
      if (existing !== null && existing.sealedTokens !== null) {
        await store.removePendingInstall(locationId, null);
        this.known.set(locationId, this.configuredState(locationId));
        return false;
      }
      const minted = await this.options.oauth.locationToken(
        await this.options.tokens.getCompanyToken(companyId),
        companyId,
        locationId,
      );
      await this.options.tokens.saveAnswer(
        { kind: "location", id: locationId },
        { ...minted, companyId },
      );
      await store.removePendingInstall(locationId, null);
      this.known.set(locationId, this.configuredState(locationId));
      return true;
    } finally {
      await store.unlock(lock, this.owner);
    }
  }

  private configuredState(locationId: string): LocationState {
    const configured = this.options.configured.find((l) => l.id === locationId);
    return configured?.paused ? "paused" : "active";
  }

  private applyConfig(): void {
    for (const location of this.options.configured)
      this.known.set(location.id, location.paused ? "paused" : "active");
  }
}

function stringField(
  payload: Record<string, unknown>,
  key: string,
): string | null {
  const value = payload[key];
  return typeof value === "string" && value !== "" ? value : null;
}
