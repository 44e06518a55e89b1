import type { CallContext, GhlApi, GhlRecord, GhlSearchBody } from "./ports.js";

/** One page of a contact scan and the cursor that continues after it. */
export interface ScanPage {
  contacts: GhlRecord[];
  /** The `searchAfter` of the page's last record, as JSON; resume from here. */
  cursor: string;
  /** The total GHL reported, for display only. */
  reportedTotal: number | null;
}

export interface ScanOptions {
  locationId: string;
  /** 1 to 500. */
  pageLimit: number;
  /** A cursor saved from an earlier page, as JSON; null starts at the beginning. */
  startAfter: string | null;
  filters?: unknown[];
  sort?: GhlSearchBody["sort"];
  context: () => CallContext;
  /** Waits before an empty page is asked for again; default 1 s. */
  confirmEmptyAfterMs?: number;
}

/** Thrown when GHL's pages cannot be trusted to cover every contact once. */
export class ScanError extends Error {
  override name = "ScanError";
}

/**
 * Reads every contact of a location through `POST /contacts/search` with
 * `searchAfter`, never with page numbers (which stop at 10,000 results) and
 * without trusting the reported total. The scan ends on an empty page.
 * Search is eventually consistent, so an empty page is requested once more
 * before it counts as the end. A page whose last cursor repeats an
 * earlier one would loop forever, so it stops the scan with a ScanError
 * naming the cursor.
 */
export async function* scanGhlContacts(
  ghl: GhlApi,
  options: ScanOptions,
): AsyncGenerator<ScanPage> {
  let after: unknown[] | undefined =
    options.startAfter === null ? undefined : parseCursor(options.startAfter);
  const seen = new Set<string>();
  if (options.startAfter !== null) seen.add(options.startAfter);
  let page = 0;
  for (;;) {
    const body: GhlSearchBody = { pageLimit: options.pageLimit };
    if (after !== undefined) body.searchAfter = after;
    if (options.filters) body.filters = options.filters;
    if (options.sort) body.sort = options.sort;
    let result = await ghl.searchContacts(
      options.locationId,
      body,
      options.context(),
    );
    if (result.contacts.length === 0) {
      await new Promise((resolve) =>
        setTimeout(resolve, options.confirmEmptyAfterMs ?? 1000),
      );
      result = await ghl.searchContacts(
        options.locationId,
        body,
        options.context(),
      );
      if (result.contacts.length === 0) return;
    }
    page++;
    const last = result.contacts[result.contacts.length - 1]!;
    if (!Array.isArray(last.searchAfter))
      throw new ScanError(
        `GHL contact search returned contact ${String(last.id)} without a searchAfter cursor on page ${page}; the scan cannot continue after it`,
      );
    const cursor = JSON.stringify(last.searchAfter);
    if (seen.has(cursor))
      throw new ScanError(
        `GHL contact search returned the cursor ${cursor} again on page ${page}, so the scan would repeat itself; run the command again later, it resumes from the last saved page`,
      );
    seen.add(cursor);
    after = last.searchAfter;
    yield {
      contacts: result.contacts,
      cursor,
      reportedTotal: result.total,
    };
  }
}

function parseCursor(text: string): unknown[] {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (Array.isArray(parsed)) return parsed;
  } catch {
    // Falls through to the error below.
  }
  throw new ScanError(
    `the saved GHL search cursor ${text} is not a JSON array; delete it with \`backfill --restart\` to start over`,
  );
}
