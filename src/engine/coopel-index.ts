import type { Candidate, CandidateSource } from "./contact-match.js";
import { idText, normaliseValue } from "./field-compare.js";
import type { CallContext, CoopelClient } from "./ports.js";

/**
 * Every Coopel contact, read once page by page and indexed by external id,
 * email (lower case) and E.164 phone, so that matching N GHL contacts costs
 * a few list pages instead of N lookups. It keeps whole records, so memory
 * grows with the size of the Coopel account (an estimate: about 1 KB per
 * contact).
 */
export class CoopelIndex implements CandidateSource {
  private readonly records = new Map<string, Candidate>();
  private readonly emails = new Map<string, string[]>();
  private readonly phones = new Map<string, string[]>();
  private readonly externalIds = new Map<string, string>();

  constructor(private readonly externalIdField: string | null) {}

  get size(): number {
    return this.records.size;
  }

  /** Reads every contact with pages of `pageSize`; returns the number of pages read. */
  async load(
    coopel: CoopelClient,
    pageSize: number,
    context: () => CallContext,
  ): Promise<number> {
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await coopel.listContacts(
        { cursor, limit: pageSize },
        context(),
      );
      pages++;
      for (const candidate of page.contacts) this.add(candidate);
      cursor = page.nextCursor;
    } while (cursor !== null);
    return pages;
  }

  /** Adds or replaces one contact. */
  add(candidate: Candidate): void {
    if (this.records.has(candidate.id)) this.remove(candidate.id);
    this.records.set(candidate.id, candidate);
    const { email, phone, external } = this.keysOf(candidate);
    if (email !== null) push(this.emails, email, candidate.id);
    if (phone !== null) push(this.phones, phone, candidate.id);
    if (external !== null) this.externalIds.set(external, candidate.id);
  }

  private remove(id: string): void {
    const old = this.records.get(id);
    if (!old) return;
    this.records.delete(id);
    const { email, phone, external } = this.keysOf(old);
    if (email !== null) drop(this.emails, email, id);
    if (phone !== null) drop(this.phones, phone, id);
    if (external !== null && this.externalIds.get(external) === id)
      this.externalIds.delete(external);
  }

  private keysOf(candidate: Candidate): {
    email: string | null;
    phone: string | null;
    external: string | null;
  } {
    const { record } = candidate;
    const email = normaliseValue("email", record.email);
    const phone = normaliseValue("phone", record.phone);
    return {
      email: typeof email === "string" ? email : null,
      phone: typeof phone === "string" ? phone : null,
      external: this.externalIdField
        ? idText(record[this.externalIdField])
        : null,
    };
  }

  /** Every indexed contact. */
  all(): Candidate[] {
    return [...this.records.values()];
  }

  get(id: string): Candidate | null {
    return this.records.get(id) ?? null;
  }

  byExternalId(ghlId: string): Promise<Candidate | null> {
    const id = this.externalIds.get(ghlId);
    return Promise.resolve(id === undefined ? null : this.get(id));
  }

  byEmail(email: string): Promise<Candidate[]> {
    return Promise.resolve(this.lookup(this.emails, email.toLowerCase()));
  }

  byPhone(phone: string): Promise<Candidate[]> {
    return Promise.resolve(this.lookup(this.phones, phone));
  }

  private lookup(map: Map<string, string[]>, key: string): Candidate[] {
    return (map.get(key) ?? []).flatMap((id) => {
      const candidate = this.records.get(id);
      return candidate ? [candidate] : [];
    });
  }
}

function drop(map: Map<string, string[]>, key: string, id: string): void {
  const ids = map.get(key)?.filter((other) => other !== id) ?? [];
  if (ids.length === 0) map.delete(key);
  else map.set(key, ids);
}

function push(map: Map<string, string[]>, key: string, id: string): void {
  const ids = map.get(key);
  if (ids) ids.push(id);
  else map.set(key, [id]);
}

/**
 * Candidates looked up in Coopel per record (`GET /contacts/?email=...`),
 * for work on a few contacts, where reading every contact would cost more.
 */
export class CoopelLookupSource implements CandidateSource {
  constructor(
    private readonly coopel: CoopelClient,
    private readonly context: () => CallContext,
  ) {}

  async byExternalId(ghlId: string): Promise<Candidate | null> {
    const field = this.coopel.externalIdField;
    if (!field) return null;
    const found = await this.coopel.findContacts(
      { externalId: ghlId },
      this.context(),
    );
    return found.find((c) => idText(c.record[field]) === ghlId) ?? null;
  }

  async byEmail(email: string): Promise<Candidate[]> {
    const found = await this.coopel.findContacts({ email }, this.context());
    return found.filter(
      (c) => normaliseValue("email", c.record.email) === email.toLowerCase(),
    );
  }

  async byPhone(phone: string): Promise<Candidate[]> {
    const found = await this.coopel.findContacts({ phone }, this.context());
    return found.filter(
      (c) => normaliseValue("phone", c.record.phone) === phone,
    );
  }
}
