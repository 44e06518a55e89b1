import type { ContactEventSync } from "../engine/contact-events.js";
import type {
  CallContext,
  GhlApi,
  Link,
  RequestSummary,
  Store,
} from "../engine/ports.js";
import { RateLimitDeferral } from "../ratelimit/account-limiter.js";

/** The tag change `rules apply` made (or would make with `dryRun`) on one contact. */
export interface RuleTagChange {
  locationId: string;
  ghlId: string;
  coopelId: string;
  add: string[];
  remove: string[];
}

/** The result of one `rules apply` run. */
export interface RulesApplyReport {
  dryRun: boolean;
  /** Linked contacts whose rules were evaluated. */
  checked: number;
  /** Contacts whose rule tags changed (or would change), with the writes. */
  changes: RuleTagChange[];
  /** Linked contacts that GHL no longer has; their tags are left alone. */
  missingInGhl: string[];
  /** Locations left out because an operator paused them on the dashboard. */
  pausedLocations: string[];
  /** Contacts whose read or write failed, with the error. */
  failed: { locationId: string; ghlId: string; error: string }[];
  warnings: string[];
  /** Requests sent, counted by API and method. */
  requests: Record<string, number>;
  /** Set when the run stopped early, such as when a daily budget ran out. */
  stoppedEarly: string | null;
}

export interface RulesApplyOptions {
  store: Store;
  ghl: GhlApi;
  contactEvents: ContactEventSync;
  locationIds: string[];
  dryRun: boolean;
  /** Called once with the number of contacts, then after each contact. */
  onStart?: (total: number) => void;
  onContact?: () => void;
  now?: () => number;
}

/**
 * Evaluates the tag rules over every linked contact: reads each contact from
 * GHL, adds and removes the rule-owned tags on Coopel as a contact event
 * would, and stores the rule tags the sync owns afterwards. Contacts run one
 * after the other, so the GHL budget decides the pace. A failed contact is
 * reported and the run goes on; a spent daily budget stops the run.
 * Locations paused on the dashboard are left out, since their events wait
 * too.
 *
 * NOTE: a contact event that the worker finishes while this runs may store
 * rule tags from before this run's change; the next event or run sets them
 * right.
 */
export async function applyTagRules(
  options: RulesApplyOptions,
): Promise<RulesApplyReport> {
  const now = options.now ?? Date.now;
  const paused = new Set(
    (await options.store.listLocationPauses()).map((p) => p.locationId),
  );
  const links: Link[] = [];
  for (const locationId of options.locationIds) {
    if (paused.has(locationId)) continue;
    for (const link of await options.store.listLinks("contact", locationId))
      if (link.coopelId !== null && link.deletedAt === null) links.push(link);
  }

  const report: RulesApplyReport = {
    dryRun: options.dryRun,
    checked: 0,
    changes: [],
    missingInGhl: [],
    pausedLocations: options.locationIds.filter((id) => paused.has(id)),
    failed: [],
    warnings: [],
    requests: {},
    stoppedEarly: null,
  };
  options.onStart?.(links.length);
  for (const link of links) {
    const context: CallContext = { requests: [], priority: "background" };
    try {
      await applyToContact(options, link, context, report, now);
    } catch (error) {
      if (error instanceof RateLimitDeferral) {
        report.stoppedEarly = error.message;
        break;
      }
      report.failed.push({
        locationId: link.ghlLocationId,
        ghlId: link.ghlId,
        error: (error as Error).message,
      });
    } finally {
      countRequests(report.requests, context.requests);
      options.onContact?.();
    }
  }
  return report;
}

async function applyToContact(
  options: RulesApplyOptions,
  link: Link,
  context: CallContext,
  report: RulesApplyReport,
  now: () => number,
): Promise<void> {
  const { ghlLocationId: locationId, ghlId } = link;
  const contact = await options.ghl.getContact(locationId, ghlId, context);
  report.checked += 1;
  if (contact === null) {
    report.missingInGhl.push(ghlId);
    return;
  }
  const result = await options.contactEvents.applyRuleTags(
    locationId,
    contact,
    link,
    context,
    { dryRun: options.dryRun },
  );
  for (const warning of result.warnings)
    report.warnings.push(`contact ${ghlId}: ${warning}`);
  if (result.add.length > 0 || result.remove.length > 0)
    report.changes.push({
      locationId,
      ghlId,
      coopelId: link.coopelId ?? "",
      add: result.add,
      remove: result.remove,
    });
  if (result.changed && !options.dryRun)
    await options.store.saveRuleTags(locationId, ghlId, result.ruleTags, now());
}

function countRequests(
  counts: Record<string, number>,
  requests: RequestSummary[],
): void {
  for (const request of requests) {
    const key = `${request.api ?? "?"} ${request.method}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
}
