import { idText, normaliseValue } from "./field-compare.js";
import type {
  ContactSummary,
  CoopelRecord,
  GhlRecord,
  ReviewReason,
} from "./ports.js";

/** A Coopel contact that a GHL contact could be. */
export interface Candidate {
  id: string;
  record: CoopelRecord;
}

/** The source of Coopel candidates: an index built once, or lookups per record. */
export interface CandidateSource {
  byExternalId(ghlId: string): Promise<Candidate | null>;
  /** Contacts whose email equals `email`, ignoring case. */
  byEmail(email: string): Promise<Candidate[]>;
  /** Contacts whose phone equals `phone` in E.164. */
  byPhone(phone: string): Promise<Candidate[]>;
}

/** The matcher's decision for one GHL contact. */
export type MatchDecision =
  | {
      kind: "link";
      coopel: Candidate;
      by: "external_id" | "email" | "phone";
    }
  | { kind: "create" }
  | { kind: "review"; reason: ReviewReason; candidates: Candidate[] };

export interface MatchInput {
  ghlId: string;
  /** The contact mapped to Coopel fields (`email`, `phone`, `first_name`, `last_name`). */
  fields: Record<string, unknown>;
  /** True when another GHL contact of the location has the same email. */
  emailSharedInGhl: boolean;
  /** True when another GHL contact of the location has the same phone. */
  phoneSharedInGhl: boolean;
  /** The GHL id a Coopel contact is linked to, or null when it is free. */
  linkedTo(coopelId: string): string | null;
  externalIdField: string | null;
}

/**
 * Decides whether a GHL contact is an existing Coopel contact: by external
 * id, then email (ignoring case), then E.164 phone. Only a one-to-one match
 * links. A match that could be another person goes to review. That covers
 * several candidates, an email or phone that several GHL contacts share and
 * a candidate linked to another GHL contact. It also covers an email match
 * whose name and phone both differ, and a phone match whose emails differ.
 */
export async function matchContact(
  input: MatchInput,
  source: CandidateSource,
): Promise<MatchDecision> {
  const byId = await source.byExternalId(input.ghlId);
  if (byId) return { kind: "link", coopel: byId, by: "external_id" };

  const email = text(normaliseValue("email", input.fields.email));
  const phone = text(normaliseValue("phone", input.fields.phone));
  const claimed = (candidate: Candidate): boolean => {
    const linked = input.linkedTo(candidate.id);
    if (linked !== null && linked !== input.ghlId) return true;
    if (!input.externalIdField) return false;
    const external = idText(candidate.record[input.externalIdField]);
    return external !== null && external !== input.ghlId;
  };

  if (email !== null) {
    const candidates = await source.byEmail(email);
    if (input.emailSharedInGhl)
      return { kind: "review", reason: "email_shared_in_ghl", candidates };
    if (candidates.length > 1)
      return { kind: "review", reason: "several_email_matches", candidates };
    const [only] = candidates;
    if (only) {
      if (claimed(only))
        return {
          kind: "review",
          reason: "candidate_linked_elsewhere",
          candidates,
        };
      if (
        differs("name", nameOf(input.fields), nameOf(only.record)) &&
        differs("phone", phone, only.record.phone)
      )
        return {
          kind: "review",
          reason: "email_match_name_and_phone_differ",
          candidates,
        };
      return { kind: "link", coopel: only, by: "email" };
    }
  }

  if (phone !== null && phone.startsWith("+")) {
    const candidates = await source.byPhone(phone);
    if (candidates.length > 0 && input.phoneSharedInGhl)
      return { kind: "review", reason: "phone_shared_in_ghl", candidates };
    if (candidates.length > 1)
      return { kind: "review", reason: "several_phone_matches", candidates };
    const [only] = candidates;
    if (only) {
      if (claimed(only))
        return {
          kind: "review",
          reason: "candidate_linked_elsewhere",
          candidates,
        };
      if (differs("email", email, only.record.email))
        return {
          kind: "review",
          reason: "phone_match_email_differs",
          candidates,
        };
      return { kind: "link", coopel: only, by: "phone" };
    }
  }
  return { kind: "create" };
}

/** True when both sides have a value and the values differ after normalisation. */
function differs(field: string, left: unknown, right: unknown): boolean {
  const a = normaliseValue(field, left);
  const b = normaliseValue(field, right);
  if (a === null || b === null) return false;
  return JSON.stringify(a) !== JSON.stringify(b);
}

function text(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

/** First and last name of a Coopel-shaped record, lower case, or null when both are empty. */
function nameOf(record: Record<string, unknown>): string | null {
  const parts = [record.first_name, record.last_name]
    .map((part) => (typeof part === "string" ? part.trim().toLowerCase() : ""))
    .filter((part) => part !== "");
  return parts.length === 0 ? null : parts.join(" ");
}

/** Describes a GHL contact for the review list. */
export function summariseGhl(record: GhlRecord): ContactSummary {
  const name =
    [record.firstName, record.lastName]
      .filter((part): part is string => typeof part === "string" && part !== "")
      .join(" ") || (typeof record.name === "string" ? record.name : "");
  return {
    id: String(record.id),
    name: name === "" ? null : name,
    email: typeof record.email === "string" ? record.email : null,
    phone: typeof record.phone === "string" ? record.phone : null,
  };
}

/** Describes a Coopel contact for the review list. */
export function summariseCoopel(candidate: Candidate): ContactSummary {
  const { record } = candidate;
  const name = [record.first_name, record.last_name]
    .filter((part): part is string => typeof part === "string" && part !== "")
    .join(" ");
  return {
    id: candidate.id,
    name: name === "" ? null : name,
    email: typeof record.email === "string" ? record.email : null,
    phone: typeof record.phone === "string" ? record.phone : null,
  };
}
