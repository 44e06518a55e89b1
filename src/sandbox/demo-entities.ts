import { contactWebhookFields } from "./ghl-webhook-payload.js";
import type { GhlSandbox } from "./ghl-sandbox.js";
import { newGhlId, type GhlNote, type GhlTask } from "./ghl-store.js";

/** The custom field that the demo mapping reads: a lead score per contact. */
export const DEMO_LEAD_SCORE = {
  id: "demoLeadScoreField01",
  name: "Lead score",
  fieldKey: "contact.lead_score",
  dataType: "NUMERICAL",
} as const;

export interface DemoEntitiesOptions {
  ghl: GhlSandbox;
  locationId: string;
  targetUrl: string;
  /** GHL contacts that exist and are synced; the first `count` of them get entity traffic. */
  contactIds: string[];
  count: number;
}

/** What Coopel should hold after the entity traffic, keyed by GHL ids. */
export interface DemoEntitiesResult {
  sent: number;
  rejected: number;
  tasks: Map<string, { contactId: string; title: string; completed: boolean }>;
  notes: Map<string, { contactId: string; body: string }>;
  /** The GHL tag list of each touched contact at the end. */
  tags: Map<string, string[]>;
  /** The lead score of each touched contact. */
  leadScores: Map<string, number>;
}

/**
 * Sends, for each of the first `count` contacts, the kinds of traffic beyond
 * plain contact fields: a custom field change (ContactUpdate), a tag change
 * (ContactTagUpdate), a task that is created and for every other contact
 * completed, and a note that for every other contact is edited to a text
 * with emoji and CJK characters. Each change is made in the GHL sandbox
 * first, then sent as a signed webhook, one contact after another.
 */
export async function runDemoEntities(
  options: DemoEntitiesOptions,
): Promise<DemoEntitiesResult> {
  const { ghl, locationId } = options;
  if (
    !(ghl.customFields.get(locationId) ?? []).some(
      (f) => f.id === DEMO_LEAD_SCORE.id,
    )
  )
    ghl.addCustomField(locationId, DEMO_LEAD_SCORE);
  const result: DemoEntitiesResult = {
    sent: 0,
    rejected: 0,
    tasks: new Map(),
    notes: new Map(),
    tags: new Map(),
    leadScores: new Map(),
  };
  const send = async (payload: Record<string, unknown>): Promise<void> => {
    const delivery = await ghl.sendWebhook(options.targetUrl, payload);
    result.sent += 1;
    if (delivery.status < 200 || delivery.status >= 300) result.rejected += 1;
  };

  for (const [index, contactId] of options.contactIds
    .slice(0, options.count)
    .entries()) {
    const score = (index * 37) % 100;
    let contact = ghl.userUpdateContact(locationId, contactId, {
      customFields: [{ id: DEMO_LEAD_SCORE.id, field_value: String(score) }],
    });
    result.leadScores.set(contactId, score);
    await send({ type: "ContactUpdate", ...contactWebhookFields(contact) });

    const tags = contact.tags.filter(
      (_tag, i) => !(index % 3 === 0 && i === 0),
    );
    if (index % 2 === 0) tags.push("demo-vip");
    contact = ghl.userUpdateContact(locationId, contactId, { tags });
    result.tags.set(contactId, [...contact.tags]);
    await send({ type: "ContactTagUpdate", ...contactWebhookFields(contact) });

    const now = new Date().toISOString();
    const task = {
      id: newGhlId(),
      contactId,
      title: `Follow up ${index + 1}`,
      body: "Call about the proposal",
      dueDate: new Date(Date.now() + 86_400_000).toISOString(),
      completed: false,
    };
    const byContact = ghl.tasks.get(contactId) ?? new Map<string, GhlTask>();
    byContact.set(task.id, task);
    ghl.tasks.set(contactId, byContact);
    // Task webhooks carry no `completed` flag.
    const taskWebhook = {
      id: task.id,
      contactId,
      title: task.title,
      body: task.body,
      dueDate: task.dueDate,
    };
    await send({
      type: "TaskCreate",
      locationId,
      ...taskWebhook,
      dateAdded: now,
    });
    if (index % 2 === 0) {
      task.completed = true;
      await send({
        type: "TaskComplete",
        locationId,
        ...taskWebhook,
        dateAdded: now,
      });
    }
    result.tasks.set(task.id, {
      contactId,
      title: task.title,
      completed: task.completed,
    });

    const note = {
      id: newGhlId(),
      contactId,
      body: `Met at the fair, contact ${index + 1}.\nInterested in the yearly plan.`,
      dateAdded: now,
    };
    const notes = ghl.notes.get(contactId) ?? new Map<string, GhlNote>();
    notes.set(note.id, note);
    ghl.notes.set(contactId, notes);
    await send({ type: "NoteCreate", locationId, ...note });
    if (index % 2 === 1) {
      note.body = `Follow-up ✅ 🎉 — 会議は来週です (contact ${index + 1})`;
      await send({ type: "NoteUpdate", locationId, ...note });
    }
    result.notes.set(note.id, { contactId, body: note.body });
  }
  return result;
}
