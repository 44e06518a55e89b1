import { readFileSync } from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { CoopelRestClient } from "../connectors/coopel/client.js";
import { GhlRestApi } from "../connectors/ghl/api.js";
import { GhlHttpClient } from "../connectors/ghl/client.js";
import { Reconcile, type Finding } from "../engine/reconcile.js";
import { ContactEnricher } from "../mapping/contact-enrichment.js";
import { ContactMapping } from "../mapping/contact-mapping.js";
import { runDemoEntities } from "../sandbox/demo-entities.js";
import { runDemoTraffic } from "../sandbox/demo-traffic.js";
import { findPackageRoot } from "../sandbox/webhook-signing.js";
import {
  compareEntities,
  type EntityComparison,
} from "./demo-entities-check.js";
import { connectSandboxWebhooks, type RunningSandboxes } from "./sandboxes.js";
import type { Service } from "./service.js";

/** What the demo prints when its traffic has been processed. */
export interface DemoSummary {
  received: number;
  synced: number;
  skipped: number;
  ignored: number;
  failed: number;
  rejected: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  expectedContacts: number;
  coopelContacts: number;
  missing: number;
  extra: number;
  mismatched: number;
  /** Coopel tasks, notes, tags and lead scores compared with GHL. */
  entities: EntityComparison;
  /** Contacts edited on Coopel to show the sync to GHL; zero when the demo syncs one way. */
  coopelEdits: number;
  /** Edited contacts whose GHL record does not show the edit. */
  ghlMismatched: number;
  /** The closing reconcile of every linked contact of the first location. */
  reconcile: DemoReconcile;
  matches: boolean;
  durationMs: number;
}

/** Figures of the reconcile that ends the demo. */
export interface DemoReconcile {
  /** Linked pairs compared field by field. */
  compared: number;
  /**
   * Findings that break the sync direction: field and tag drift, records
   * missing on Coopel, stale links, and Coopel-only contacts when contacts
   * sync from Coopel too.
   */
  drift: number;
  findings: Record<Finding["kind"], number>;
}

const OFFICIAL_EXAMPLES = ["ContactCreate", "ContactUpdate", "ContactDelete"];

function loadOfficialExamples(): Record<string, unknown>[] {
  const dir = path.join(findPackageRoot(), "fixtures", "ghl", "webhooks");
  return OFFICIAL_EXAMPLES.map(
    (name) =>
      JSON.parse(
        readFileSync(path.join(dir, `${name}.json`), "utf8"),
      ) as Record<string, unknown>,
  );
}

/**
 * Sends the official contact examples and a generated stream of contact
 * changes from the GHL sandbox to the service, waits until every event is
 * processed, and compares the Coopel sandbox with what the GHL sandbox holds.
 */
export async function runDemo(options: {
  config: Config;
  service: Service;
  sandboxes: RunningSandboxes;
  logger: Logger;
  drainTimeoutMs?: number;
}): Promise<DemoSummary> {
  const { config, service, sandboxes, logger } = options;
  const location = config.ghl.locations[0];
  if (!location)
    throw new Error("demo traffic needs at least one entry in ghl.locations");
  const startedAt = Date.now();
  connectSandboxWebhooks(config, service.url, sandboxes);
  logger.info(
    { contacts: config.demo.contacts, changes: config.demo.changes },
    `demo: sending the official ContactCreate, ContactUpdate and ContactDelete examples, then ${config.demo.changes} generated contact changes, then task, note, tag and custom field changes`,
  );

  const traffic = await runDemoTraffic({
    ghl: sandboxes.ghl,
    locationId: location.id,
    targetUrl: `${service.url}/webhooks/ghl`,
    contacts: config.demo.contacts,
    changes: config.demo.changes,
    concurrency: config.demo.concurrency,
    seed: config.demo.seed,
    officialExamples: loadOfficialExamples(),
  });

  const entityContacts = Math.min(40, traffic.expected.size);
  logger.info(
    `demo: sending custom field, tag, task and note changes for ${entityContacts} contacts`,
  );
  const entityTraffic = await runDemoEntities({
    ghl: sandboxes.ghl,
    locationId: location.id,
    targetUrl: `${service.url}/webhooks/ghl`,
    contactIds: [...traffic.expected.keys()],
    count: entityContacts,
  });

  await waitForDrain(service, logger, options.drainTimeoutMs ?? 300_000);
  const coopelSide = runCoopelEdits(
    config,
    sandboxes,
    traffic.expected,
    logger,
  );
  if (coopelSide.edited.length > 0) {
    await sandboxes.coopel.flushWebhooks();
    await waitForDrain(service, logger, options.drainTimeoutMs ?? 300_000);
  }
  const ghlMismatched = compareGhl(sandboxes, location.id, coopelSide);
  const stats = await service.store.eventStats(startedAt);
  const contactComparison = await compareCoopel(
    config,
    sandboxes,
    traffic.expected,
  );
  const entities = await compareEntities(config, sandboxes, entityTraffic);
  if (entities.entityMismatches > 0)
    logger.warn(
      { examples: entities.examples },
      `demo: ${entities.entityMismatches} tasks, notes or tag lists differ between GHL and Coopel`,
    );
  const reconcile = await reconcileLinked(config, service, location.id, logger);
  const comparison = {
    ...contactComparison,
    entities,
    coopelEdits: coopelSide.edited.length,
    ghlMismatched,
    reconcile,
    matches:
      contactComparison.matches &&
      entities.entityMismatches === 0 &&
      ghlMismatched === 0 &&
      reconcile.drift === 0,
  };
  const summary: DemoSummary = {
    received: stats.received,
    synced: stats.synced,
    skipped: stats.skipped,
    ignored: stats.ignored,
    failed: stats.failed,
    rejected: traffic.rejected + entityTraffic.rejected,
    latencyP50Ms: stats.writeLatencyP50Ms,
    latencyP99Ms: stats.writeLatencyP99Ms,
    ...comparison,
    durationMs: Date.now() - startedAt,
  };
  logger.info(
    { summary },
    `demo finished in ${(summary.durationMs / 1000).toFixed(1)} s: received ${summary.received}, synced ${summary.synced}, ` +
      `skipped ${summary.skipped}, failed ${summary.failed}; webhook-to-Coopel latency p50 ${summary.latencyP50Ms ?? "-"} ms, ` +
      `p99 ${summary.latencyP99Ms ?? "-"} ms; Coopel sandbox ${summary.matches ? "matches" : "DOES NOT match"} the expected contacts ` +
      `(${summary.coopelContacts} of ${summary.expectedContacts}, missing ${summary.missing}, extra ${summary.extra}, different ${summary.mismatched}; ` +
      `${entities.tasks} tasks, ${entities.notes} notes and ${entities.taggedContacts} tag lists checked, ${entities.entityMismatches} different); ` +
      `${summary.coopelEdits} contacts edited on Coopel, ${summary.ghlMismatched} of them different in GHL; ` +
      `reconcile: ${reconcile.compared} linked pairs compared, ${reconcile.drift} drift. ` +
      "The service keeps running; Ctrl-C stops it.",
  );
  return summary;
}

/**
 * Compares every linked contact of one location on both sandboxes with the
 * reconcile engine, without repairing, and logs each finding.
 */
async function reconcileLinked(
  config: Config,
  service: Service,
  locationId: string,
  logger: Logger,
): Promise<DemoReconcile> {
  const ghl = new GhlRestApi(
    new GhlHttpClient({
      baseUrl: config.ghl.base_url,
      apiVersion: config.ghl.api_version,
      timeoutMs: config.coopel.timeout_ms,
      tokens: service.ghlTokens,
    }),
  );
  const mapping = new ContactMapping(config.mapping);
  const enricher = new ContactEnricher({
    ghl,
    mapping,
    logger,
    defaultCountry: config.mapping.default_country,
  });
  const reconcile = new Reconcile({
    ghl,
    coopel: new CoopelRestClient(config.coopel),
    state: service.syncState,
    mapping,
    enrich: async (id, record, context) =>
      (await enricher.enrich(id, record, context)).payload,
    logger,
    locationId,
    deletePolicy: config.sync.contacts.delete,
    syncTags: config.sync.tags.enabled,
    repair: false,
    dryRun: false,
    pageLimit: config.backfill.page_size,
    coopelPageSize: config.backfill.coopel_page_size,
    concurrency: config.backfill.concurrency,
    onFinding: (finding) =>
      logger.warn({ finding }, `demo reconcile found ${finding.kind}`),
  });
  logger.info(`demo: reconciling the linked contacts of ${locationId}`);
  const summary = await reconcile.run();
  const coopelOnly =
    config.sync.contacts.direction === "ghl_to_coopel"
      ? 0
      : summary.findings.coopel_only;
  return {
    compared: summary.compared,
    drift: summary.differences + coopelOnly,
    findings: summary.findings,
  };
}

/** Contacts the demo edited on Coopel: GHL id and the city it set. */
interface CoopelEdits {
  edited: { ghlId: string; city: string }[];
}

/**
 * Edits up to 20 linked contacts on Coopel, as a Coopel user would, when
 * contacts sync from Coopel to GHL. Each edit sets a new city, which the
 * Coopel sandbox reports by webhook and the sync writes to GHL. The
 * expected GHL content of those contacts is updated to match.
 */
function runCoopelEdits(
  config: Config,
  sandboxes: RunningSandboxes,
  expected: Map<string, Record<string, unknown>>,
  logger: Logger,
): CoopelEdits {
  const edits: CoopelEdits = { edited: [] };
  if (config.sync.contacts.direction === "ghl_to_coopel") return edits;
  const idField = config.coopel.external_id_field ?? "external_id";
  for (const contact of sandboxes.coopel.contacts.values()) {
    if (edits.edited.length >= 20) break;
    const ghlId = contact[idField];
    if (typeof ghlId !== "string" || !expected.has(ghlId)) continue;
    const city = `Coopel City ${edits.edited.length + 1}`;
    sandboxes.coopel.userUpdateContact(contact.id, { city });
    expected.set(ghlId, { ...expected.get(ghlId), city });
    edits.edited.push({ ghlId, city });
  }
  logger.info(
    `demo: edited ${edits.edited.length} contacts on Coopel; the sync writes them to GHL`,
  );
  return edits;
}

/** Counts the Coopel-side edits that GHL does not show. */
function compareGhl(
  sandboxes: RunningSandboxes,
  locationId: string,
  edits: CoopelEdits,
): number {
  const contacts = sandboxes.ghl.contacts.get(locationId);
  return edits.edited.filter(
    ({ ghlId, city }) => contacts?.get(ghlId)?.city !== city,
  ).length;
}

async function waitForDrain(
  service: Service,
  logger: Logger,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastLog = Date.now();
  for (;;) {
    const depth = await service.queue.depth();
    if (depth === 0) return;
    if (Date.now() > deadline) {
      logger.warn(
        { depth },
        "demo: events still pending after the wait; the summary counts them as not synced",
      );
      return;
    }
    if (Date.now() - lastLog > 2000) {
      logger.info({ depth }, `demo: ${depth} events waiting to be processed`);
      lastLog = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Compares each Coopel sandbox contact with the mapped GHL contact it should mirror. */
async function compareCoopel(
  config: Config,
  sandboxes: RunningSandboxes,
  expected: Map<string, Record<string, unknown>>,
): Promise<
  Pick<
    DemoSummary,
    | "expectedContacts"
    | "coopelContacts"
    | "missing"
    | "extra"
    | "mismatched"
    | "matches"
  >
> {
  const mapping = new ContactMapping(config.mapping);
  const idField = config.coopel.external_id_field ?? "external_id";
  const byGhlId = new Map<string, Record<string, unknown>>();
  let extra = 0;
  for (const contact of sandboxes.coopel.contacts.values()) {
    const ghlId = contact[idField];
    if (typeof ghlId !== "string" || !expected.has(ghlId) || byGhlId.has(ghlId))
      extra += 1;
    else byGhlId.set(ghlId, contact);
  }
  let missing = 0;
  let mismatched = 0;
  for (const [ghlId, fields] of expected) {
    const contact = byGhlId.get(ghlId);
    if (!contact) {
      missing += 1;
      continue;
    }
    const mapped = (await mapping.map(fields)).fields;
    const differs = Object.entries(mapped).some(
      ([key, value]) => (contact[key] ?? null) !== value,
    );
    if (differs) mismatched += 1;
  }
  return {
    expectedContacts: expected.size,
    coopelContacts: sandboxes.coopel.contacts.size,
    missing,
    extra,
    mismatched,
    matches: missing === 0 && extra === 0 && mismatched === 0,
  };
}
