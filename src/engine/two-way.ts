import type { Config, ConflictRule } from "../config/schema.js";
import { hashValue } from "../mapping/contact-mapping.js";
import type { Conflict, Side, TwoWayStore, WriteIntent } from "./ports.js";

/** Conflict settings of contacts, as in `sync.contacts.conflicts`. */
export type ConflictPolicy = Config["sync"]["contacts"]["conflicts"];

/** How long a write intent counts for echo detection; older ones are ignored. */
export const INTENT_TTL_MS = 10 * 60_000;

/** Settings both directions share: the store of two-way state, the conflict policy and the metric hooks. */
export interface TwoWayOptions {
  store: TwoWayStore;
  policy: ConflictPolicy;
  /** Called for every event dropped as an echo of the sync's own write. */
  onEcho?: (side: Side) => void;
  /** Called for every conflict stored for the first time. */
  onConflict?: (conflict: Conflict) => void;
}

/** Hashes each field value, as links store them. */
export function hashFields(
  fields: Record<string, unknown>,
): Record<string, string> {
  const hashes: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields))
    hashes[key] = hashValue(value);
  return hashes;
}

/**
 * Returns the write intent that an incoming record echoes, or null. The
 * record echoes an intent when every field it carries equals what the
 * side is known to have, with the intent's fields laid over it. Intents
 * older than INTENT_TTL_MS are ignored.
 */
export function matchEcho(
  incoming: Record<string, string>,
  known: Record<string, string>,
  intents: WriteIntent[],
  now: number,
): WriteIntent | null {
  const keys = Object.keys(incoming);
  if (keys.length === 0) return null;
  for (const intent of intents) {
    if (now - intent.createdAt > INTENT_TTL_MS) continue;
    const expected = { ...known, ...intent.hashes };
    if (keys.every((key) => expected[key] === incoming[key])) return intent;
  }
  return null;
}

/** Returns the conflict rule of a field (by Coopel name). */
export function ruleFor(policy: ConflictPolicy, field: string): ConflictRule {
  return policy.fields[field] ?? policy.policy;
}

/**
 * Picks the side whose value stays. `last_writer` compares the update
 * times of both records. A side with a known time wins over one without,
 * and GHL wins a tie or when neither time is known.
 */
export function pickWinner(
  rule: ConflictRule,
  ghlUpdatedAt: number | null,
  coopelUpdatedAt: number | null,
): Side {
  if (rule === "ghl" || rule === "coopel") return rule;
  if (coopelUpdatedAt === null) return "ghl";
  if (ghlUpdatedAt === null) return "coopel";
  return coopelUpdatedAt > ghlUpdatedAt ? "coopel" : "ghl";
}

/** Parses an ISO 8601 time or epoch milliseconds; null when absent or invalid. */
export function timeOf(value: unknown): number | null {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value !== "string") return null;
  const time = Date.parse(value);
  return Number.isNaN(time) ? null : time;
}

/** Stores a conflict and reports it once through `onConflict`. */
export async function logConflict(
  options: TwoWayOptions,
  conflict: Conflict,
): Promise<void> {
  const added = await options.store.addConflict(conflict);
  if (added) options.onConflict?.(conflict);
}

/** The fields a three-way comparison of one record sends to each side. */
export interface MergePlan {
  /** Coopel fields whose Coopel value goes to GHL. */
  toGhl: string[];
  /** Coopel fields whose GHL value goes to Coopel. */
  toCoopel: string[];
  /** Fields changed on both sides to different values, with the winner. */
  conflicts: { field: string; winner: Side; rule: ConflictRule }[];
}

/**
 * Compares the current hashes of both sides with what each side was last
 * known to have. A field changed on one side only goes to the other. A
 * field changed on both sides to different values is a conflict, which the
 * policy settles. Fields absent from a side's current record are left
 * alone, because a partial record carries no value for them.
 */
export function planMerge(input: {
  coopelKnown: Record<string, string>;
  ghlKnown: Record<string, string>;
  coopelNow: Record<string, string>;
  ghlNow: Record<string, string>;
  policy: ConflictPolicy;
  ghlUpdatedAt: number | null;
  coopelUpdatedAt: number | null;
}): MergePlan {
  const plan: MergePlan = { toGhl: [], toCoopel: [], conflicts: [] };
  const fields = new Set([
    ...Object.keys(input.coopelNow),
    ...Object.keys(input.ghlNow),
  ]);
  for (const field of fields) {
    const coopel = input.coopelNow[field];
    const ghl = input.ghlNow[field];
    if (coopel !== undefined && ghl !== undefined && coopel === ghl) continue;
    const coopelChanged =
      coopel !== undefined && coopel !== input.coopelKnown[field];
    const ghlChanged = ghl !== undefined && ghl !== input.ghlKnown[field];
    if (coopelChanged && ghlChanged && ghl !== undefined) {
      const rule = ruleFor(input.policy, field);
      const winner = pickWinner(
        rule,
        input.ghlUpdatedAt,
        input.coopelUpdatedAt,
      );
      plan.conflicts.push({ field, winner, rule });
      if (winner === "coopel") plan.toGhl.push(field);
      else plan.toCoopel.push(field);
    } else if (coopelChanged) plan.toGhl.push(field);
    else if (ghlChanged) plan.toCoopel.push(field);
  }
  return plan;
}

/** Record keys of a create intent: the contact's email and E.164 phone. */
export function identityKeys(fields: Record<string, unknown>): string[] {
  const keys: string[] = [];
  if (typeof fields.email === "string" && fields.email !== "")
    keys.push(`email:${fields.email.toLowerCase()}`);
  if (typeof fields.phone === "string" && fields.phone.startsWith("+"))
    keys.push(`phone:${fields.phone}`);
  return keys;
}
