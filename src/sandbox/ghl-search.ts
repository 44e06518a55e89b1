import type { GhlContact } from "./ghl-contact-fields.js";
import { unprocessable } from "./ghl-errors.js";

/** A contact in a search result, with the cursor that `searchAfter` takes to continue after it. */
export type GhlSearchHit = GhlContact & { searchAfter: unknown[] };

type Comparable = number | string | boolean | null;
type SortKey = { field: string; direction: "asc" | "desc" };

const MAX_PAGE_LIMIT = 500;
const MAX_PAGE_RESULTS = 10_000;
const OPERATORS = new Set([
  "eq",
  "not_eq",
  "contains",
  "not_contains",
  "exists",
  "not_exists",
  "range",
]);

/**
 * Runs `POST /contacts/search` over the contacts of one location. Body: `pageLimit` (1 to 500),
 * `page` (1-based, within the first 10 000 results) or `searchAfter` (never both), `filters`
 * ({field, operator, value} or {group: AND|OR, filters}), `sort` ([{field, direction}], default
 * dateAdded ascending, always then id) and `query` (text in name, email, phone or company, at
 * most 75 characters). Dates sort and compare as epoch milliseconds.
 */
export function searchContacts(
  contacts: Iterable<GhlContact>,
  body: Record<string, unknown>,
): { contacts: GhlSearchHit[]; total: number } {
  const pageLimit = body.pageLimit;
  const messages: string[] = [];
  if (
    typeof pageLimit !== "number" ||
    !Number.isInteger(pageLimit) ||
    pageLimit < 1
  ) {
    messages.push("pageLimit must be an integer number of at least 1");
  } else if (pageLimit > MAX_PAGE_LIMIT) {
    messages.push(`pageLimit must not be greater than ${MAX_PAGE_LIMIT}`);
  }
  if (body.page !== undefined && body.searchAfter !== undefined) {
    messages.push("page and searchAfter cannot be used together");
  }
  if (body.searchAfter !== undefined && !Array.isArray(body.searchAfter)) {
    messages.push("searchAfter must be an array");
  }
  if (
    body.query !== undefined &&
    (typeof body.query !== "string" || body.query.length > 75)
  ) {
    messages.push("query must be a string of at most 75 characters");
  }
  const page = body.page ?? 1;
  if (typeof page !== "number" || !Number.isInteger(page) || page < 1) {
    messages.push("page must be an integer number of at least 1");
  }
  if (messages.length > 0) throw unprocessable(messages);
  const limit = pageLimit as number;
  const offset = ((page as number) - 1) * limit;
  if (offset + limit > MAX_PAGE_RESULTS) {
    throw unprocessable([
      `page paging stops at ${MAX_PAGE_RESULTS} results; use searchAfter to read further`,
    ]);
  }

  const sort = parseSort(body.sort);
  const filters = Array.isArray(body.filters)
    ? (body.filters as unknown[])
    : [];
  const query = typeof body.query === "string" ? body.query.toLowerCase() : "";
  const matching = [...contacts]
    .filter((contact) =>
      filters.every((filter) => matchesFilter(contact, filter)),
    )
    .filter((contact) => query === "" || matchesQuery(contact, query))
    .map((contact) => ({ contact, searchAfter: cursorOf(contact, sort) }))
    .sort((a, b) => compareTuples(a.searchAfter, b.searchAfter, sort));

  const after = body.searchAfter as unknown[] | undefined;
  const remaining =
    after === undefined
      ? matching.slice(offset)
      : matching.filter(
          (hit) => compareTuples(hit.searchAfter, after, sort) > 0,
        );
  // Only the returned page is copied out of the store.
  const hits = remaining
    .slice(0, limit)
    .map(({ contact, searchAfter }): GhlSearchHit => ({
      ...structuredClone(contact),
      searchAfter,
    }));
  return { contacts: hits, total: matching.length };
}

function parseSort(raw: unknown): SortKey[] {
  if (raw === undefined) return [{ field: "dateAdded", direction: "asc" }];
  if (!Array.isArray(raw)) throw unprocessable(["sort must be an array"]);
  return raw.map((item: unknown) => {
    const key = (item ?? {}) as Record<string, unknown>;
    if (typeof key.field !== "string")
      throw unprocessable(["each sort entry needs a field"]);
    return {
      field: key.field,
      direction: key.direction === "desc" ? "desc" : "asc",
    };
  });
}

function cursorOf(contact: GhlContact, sort: SortKey[]): Comparable[] {
  return [
    ...sort.map((key) => comparable(fieldValue(contact, key.field))),
    contact.id,
  ];
}

/** Compares cursors field by field; the last element is the id, always ascending. */
function compareTuples(
  left: unknown[],
  right: unknown[],
  sort: SortKey[],
): number {
  for (let index = 0; index < left.length; index++) {
    const order = compareValues(
      left[index] as Comparable,
      right[index] as Comparable,
    );
    if (order !== 0) return sort[index]?.direction === "desc" ? -order : order;
  }
  return 0;
}

function compareValues(
  left: Comparable | undefined,
  right: Comparable | undefined,
): number {
  if (left === right) return 0;
  if (left === null || left === undefined) return -1;
  if (right === null || right === undefined) return 1;
  if (typeof left === "number" && typeof right === "number")
    return left - right;
  return String(left) < String(right) ? -1 : 1;
}

function fieldValue(contact: GhlContact, field: string): unknown {
  return (contact as unknown as Record<string, unknown>)[field];
}

/** Dates become epoch milliseconds, other strings compare case-insensitively. */
function comparable(value: unknown): Comparable {
  if (value === undefined || value === null) return null;
  if (typeof value === "number" || typeof value === "boolean") return value;
  const text = typeof value === "string" ? value : JSON.stringify(value);
  if (/^\d{4}-\d{2}-\d{2}T/.test(text) && !Number.isNaN(Date.parse(text)))
    return Date.parse(text);
  return text.toLowerCase();
}

function matchesQuery(contact: GhlContact, query: string): boolean {
  return [contact.name, contact.email, contact.phone, contact.companyName].some(
    (value) => value?.toLowerCase().includes(query),
  );
}

function matchesFilter(contact: GhlContact, raw: unknown): boolean {
  const filter = (raw ?? {}) as Record<string, unknown>;
  if (filter.group !== undefined) {
    const children = Array.isArray(filter.filters)
      ? (filter.filters as unknown[])
      : [];
    return filter.group === "OR"
      ? children.some((child) => matchesFilter(contact, child))
      : children.every((child) => matchesFilter(contact, child));
  }
  const operator = String(filter.operator);
  if (typeof filter.field !== "string" || !OPERATORS.has(operator)) {
    throw unprocessable([
      `each filter needs a field and an operator from: ${[...OPERATORS].join(", ")}`,
    ]);
  }
  const value = fieldValue(contact, filter.field);
  const values = Array.isArray(value) ? value : [value];
  const expected = comparable(filter.value);
  switch (operator) {
    case "eq":
      return values.some((item) => comparable(item) === expected);
    case "not_eq":
      return !values.some((item) => comparable(item) === expected);
    case "contains":
      return values.some(
        (item) =>
          typeof item === "string" &&
          item.toLowerCase().includes(String(expected)),
      );
    case "not_contains":
      return !values.some(
        (item) =>
          typeof item === "string" &&
          item.toLowerCase().includes(String(expected)),
      );
    case "exists":
      return hasValue(value);
    case "not_exists":
      return !hasValue(value);
    default:
      return matchesRange(
        comparable(value),
        (filter.value ?? {}) as Record<string, unknown>,
      );
  }
}

function hasValue(value: unknown): boolean {
  return (
    value !== undefined &&
    value !== null &&
    value !== "" &&
    !(Array.isArray(value) && value.length === 0)
  );
}

function matchesRange(
  value: Comparable,
  range: Record<string, unknown>,
): boolean {
  if (value === null) return false;
  const bound = (key: string): Comparable | undefined =>
    range[key] === undefined ? undefined : comparable(range[key]);
  const [gte, gt, lte, lt] = [
    bound("gte"),
    bound("gt"),
    bound("lte"),
    bound("lt"),
  ];
  return (
    (gte === undefined || compareValues(value, gte) >= 0) &&
    (gt === undefined || compareValues(value, gt) > 0) &&
    (lte === undefined || compareValues(value, lte) <= 0) &&
    (lt === undefined || compareValues(value, lt) < 0)
  );
}

/**
 * Pagination faults of `POST /contacts/search`, as a client of the real API
 * may meet them. Request numbers count search requests from the moment the
 * faults were set, starting at 1.
 */
export interface SearchFaults {
  /** Reported as `total` instead of the real count. */
  wrongTotal?: number;
  /** From this request on, every response repeats the previous page, so its last cursor repeats. */
  repeatCursorFrom?: number;
  /** This request gets an empty page once; asking again gets the real page. */
  emptyPageAt?: number;
}

/** Applies SearchFaults to search responses and counts requests since the faults were set. */
export class SearchFaultState {
  #faults: SearchFaults = {};
  #requests = 0;
  #previous: { contacts: GhlSearchHit[]; total: number } | null = null;

  get faults(): SearchFaults {
    return { ...this.#faults };
  }

  /** Replaces the faults and restarts the request count; throws RangeError on an invalid setting. */
  set(faults: SearchFaults | undefined): void {
    for (const [key, value] of Object.entries(faults ?? {})) {
      if (!["wrongTotal", "repeatCursorFrom", "emptyPageAt"].includes(key))
        throw new RangeError(
          `unknown search fault "${key}"; use wrongTotal, repeatCursorFrom or emptyPageAt`,
        );
      if (typeof value !== "number" || !Number.isInteger(value) || value < 0)
        throw new RangeError(
          `search fault ${key} must be a whole number of at least 0, got ${JSON.stringify(value)}`,
        );
    }
    this.#faults = { ...(faults ?? {}) };
    this.#requests = 0;
    this.#previous = null;
  }

  /** Runs one search through the faults. */
  apply(search: () => { contacts: GhlSearchHit[]; total: number }): {
    contacts: GhlSearchHit[];
    total: number;
  } {
    const number = ++this.#requests;
    const faults = this.#faults;
    let result: { contacts: GhlSearchHit[]; total: number };
    if (
      faults.repeatCursorFrom !== undefined &&
      number >= faults.repeatCursorFrom &&
      this.#previous !== null
    ) {
      result = structuredClone(this.#previous);
    } else if (faults.emptyPageAt === number) {
      result = { contacts: [], total: search().total };
      // The empty page is not remembered, so a repeat request gets the real one.
      return this.withTotal(result);
    } else {
      result = search();
    }
    this.#previous = result;
    return this.withTotal(result);
  }

  private withTotal(result: { contacts: GhlSearchHit[]; total: number }): {
    contacts: GhlSearchHit[];
    total: number;
  } {
    const wrong = this.#faults.wrongTotal;
    return wrong === undefined ? result : { ...result, total: wrong };
  }
}
