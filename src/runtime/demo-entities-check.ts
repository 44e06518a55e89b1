import type { Config } from "../config/schema.js";
import { tagKey } from "../engine/tag-diff.js";
import { TagRules } from "../engine/tag-rules.js";
import type { DemoEntitiesResult } from "../sandbox/demo-entities.js";
import type { RunningSandboxes } from "./sandboxes.js";

/** How Coopel's tasks, notes, tags and lead scores compare with the demo's GHL side. */
export interface EntityComparison {
  tasks: number;
  notes: number;
  taggedContacts: number;
  /** Records of any of these kinds that are missing on Coopel or differ. */
  entityMismatches: number;
  /** One line per mismatch, at most 10, for the log. */
  examples: string[];
}

/**
 * Compares the Coopel sandbox with what the entity traffic left in GHL:
 * each task (title, completed) and note (body, byte for byte) under the
 * right contact, each contact's tags (GHL tags plus the tags of the rules
 * that hold), and the mapped lead score.
 */
export async function compareEntities(
  config: Config,
  sandboxes: RunningSandboxes,
  expected: DemoEntitiesResult,
): Promise<EntityComparison> {
  const idField = config.coopel.external_id_field ?? "external_id";
  const coopelByGhl = new Map<string, Record<string, unknown>>();
  for (const contact of sandboxes.coopel.contacts.values())
    if (typeof contact[idField] === "string")
      coopelByGhl.set(contact[idField], contact);
  const examples: string[] = [];
  let mismatches = 0;
  const mismatch = (line: string): void => {
    mismatches += 1;
    if (examples.length < 10) examples.push(line);
  };

  for (const [taskId, task] of expected.tasks) {
    const coopelContact = coopelByGhl.get(task.contactId);
    const tasks = coopelContact
      ? [
          ...(sandboxes.coopel.tasks
            .get(coopelContact.id as string)
            ?.values() ?? []),
        ]
      : [];
    const match = tasks.find((t) => t.title === task.title);
    if (!match || match.completed !== task.completed)
      mismatch(`task ${taskId} of contact ${task.contactId}`);
  }
  for (const [noteId, note] of expected.notes) {
    const coopelContact = coopelByGhl.get(note.contactId);
    const notes = coopelContact
      ? [
          ...(sandboxes.coopel.notes
            .get(coopelContact.id as string)
            ?.values() ?? []),
        ]
      : [];
    if (!notes.some((n) => n.body === note.body))
      mismatch(`note ${noteId} of contact ${note.contactId}`);
  }

  const rules = new TagRules(config.mapping.tag_rules);
  const scoreField = config.mapping.contact.custom_fields["contact.lead_score"];
  const scoreTarget =
    typeof scoreField === "string" ? scoreField : (scoreField?.to ?? null);
  for (const [contactId, ghlTags] of expected.tags) {
    const coopelContact = coopelByGhl.get(contactId);
    if (!coopelContact) {
      mismatch(`contact ${contactId} missing`);
      continue;
    }
    const score = expected.leadScores.get(contactId);
    const ruleTags = (
      await rules.evaluate({
        tags: ghlTags,
        custom: { lead_score: score },
        dndActive: {},
        business: null,
      })
    ).tags;
    const want = new Set([...ghlTags, ...ruleTags].map(tagKey));
    const have = new Set(
      (Array.isArray(coopelContact.tags)
        ? (coopelContact.tags as string[])
        : []
      ).map(tagKey),
    );
    if (want.size !== have.size || [...want].some((tag) => !have.has(tag)))
      mismatch(`tags of contact ${contactId}`);
    if (typeof scoreTarget === "string" && coopelContact[scoreTarget] !== score)
      mismatch(`lead score of contact ${contactId}`);
  }
  return {
    tasks: expected.tasks.size,
    notes: expected.notes.size,
    taggedContacts: expected.tags.size,
    entityMismatches: mismatches,
    examples,
  };
}
