import { afterEach, describe, expect, it } from "vitest";
import { fixture, startHarness, type Harness } from "./helpers/harness.js";

let harness: Harness;
afterEach(async () => {
  await harness?.close();
});

const NULL_ROUTES = {
  create_note: null,
  update_note: null,
  delete_note: null,
  remove_tags: null,
  delete_contact: null,
};

async function eventsByType(h: Harness) {
  const events = await h.service.store.listEvents({ limit: 50 });
  return new Map(events.map((e) => [e.type, e]));
}

describe("Coopel routes set to null", () => {
  it("logs one line per entity at start", async () => {
    harness = await startHarness({ coopel: { routes: NULL_ROUTES } });
    const lines = harness.logLines.filter((l) => l.entity !== undefined);

    expect(lines.map((l) => l.entity)).toEqual(["contacts", "tags", "notes"]);
    const notes = lines.find((l) => l.entity === "notes")!;
    expect(notes.level).toBe(40);
    expect(notes.routes).toEqual(["create_note", "update_note", "delete_note"]);
    expect(notes.configKeys).toEqual([
      "coopel.routes.create_note",
      "coopel.routes.update_note",
      "coopel.routes.delete_note",
    ]);
    expect(String(notes.msg)).toContain("coopel.routes.create_note");
    expect(String(notes.msg)).toContain("counted as unsupported");
    const contacts = lines.find((l) => l.entity === "contacts")!;
    expect(contacts.routes).toEqual(["delete_contact"]);
  });

  it("logs nothing for an entity that is not synced", async () => {
    harness = await startHarness({
      coopel: { routes: { create_note: null } },
      sync: { notes: { enabled: false } },
    });
    expect(harness.logLines.filter((l) => l.entity !== undefined)).toEqual([]);
  });

  it("counts their events as unsupported, not failed or retried", async () => {
    harness = await startHarness({ coopel: { routes: NULL_ROUTES } });
    await harness.post(fixture("ContactCreate"));
    await harness.waitForIdle();
    const contactsBefore = harness.coopel.contacts.size;
    expect(contactsBefore).toBe(1);

    await harness.post(fixture("NoteCreate"));
    await harness.post({
      ...fixture("ContactTagUpdate"),
      tags: ["id magna sed Lorem"],
    });
    await harness.waitForIdle();
    await harness.post(fixture("ContactDelete"));
    await harness.waitForIdle();

    const events = await eventsByType(harness);
    for (const [type, reason] of [
      ["NoteCreate", "unsupported:create_note"],
      ["ContactTagUpdate", "unsupported:remove_tags"],
      ["ContactDelete", "unsupported:delete_contact"],
    ] as const) {
      const event = events.get(type);
      expect(event?.outcome, type).toBe("unsupported");
      expect(event?.reason, type).toBe(reason);
      expect(event?.attempts, type).toBe(1);
      expect(event?.state, type).toBe("done");
    }

    const stats = await harness.service.store.eventStats(0);
    expect(stats.unsupported).toBe(3);
    expect(stats.failed).toBe(0);
    expect(await harness.service.queue.listDeadLetters({})).toEqual([]);
    expect(harness.coopel.contacts.size).toBe(contactsBefore);
    const sent = harness.coopel.requests.map((r) => `${r.method} ${r.route}`);
    expect(sent).not.toContain("POST /contacts/:contactId/notes");
    expect(sent).not.toContain("DELETE /contacts/:contactId/tags");
    expect(sent).not.toContain("DELETE /contacts/:contactId");
  });
});
