import { createSeededRandom } from "../../src/sandbox/random.js";

/** One GHL contact of the chaos run and the state it must end in. */
export interface ChaosContact {
  id: string;
  locationId: string;
  /** The newest payload sent for the contact (before a delete). */
  final: Record<string, unknown>;
  deleted: boolean;
}

/** One POST of a webhook body; a duplicate repeats the exact bytes of an earlier one. */
export interface PlannedDelivery {
  body: string;
}

export interface ChaosPlan {
  contacts: ChaosContact[];
  deliveries: PlannedDelivery[];
  duplicatesSent: number;
  outOfOrder: number;
}

const EVENTS_PER_CONTACT = 10;
const DELETED_SHARE = 0.1;
/** Contacts whose events are being interleaved at any time. */
const ACTIVE_CONTACTS = 200;
const FIRST_NAMES = ["Ana", "Bo", "Chen", "Dara", "Emeka", "Fatima", "Gus"];
const LAST_NAMES = ["Ito", "Jones", "Kowalski", "Lopez", "Moreau", "Nkosi"];

/**
 * Plans the webhook stream of a chaos run: contacts that are created, then
 * updated (every update changes the name, email and phone, and carries a
 * later `dateUpdated`), and for a tenth of them deleted. Events of many
 * contacts interleave; a share is swapped with the contact's next event
 * (out of order) and a share is sent again a little later (duplicates).
 */
export function planChaosEvents(options: {
  events: number;
  locations: number;
  duplicateRate: number;
  outOfOrderRate: number;
  seed: number;
}): ChaosPlan {
  const random = createSeededRandom(options.seed);
  const base = Date.parse("2026-01-01T00:00:00Z");
  const contacts: ChaosContact[] = [];
  const streams: Record<string, unknown>[][] = [];
  let remaining = options.events;
  for (let i = 0; remaining > 0; i++) {
    const count = Math.min(EVENTS_PER_CONTACT, remaining);
    remaining -= count;
    const id = `chaosContact${String(i).padStart(8, "0")}`;
    const locationId = `chaosLocation${String(i % options.locations).padStart(8, "0")}`;
    const deleted = count === EVENTS_PER_CONTACT && random() < DELETED_SHARE;
    const stream: Record<string, unknown>[] = [];
    for (let version = 0; version < count; version++) {
      const isDelete = deleted && version === count - 1;
      const type = isDelete
        ? "ContactDelete"
        : version === 0
          ? "ContactCreate"
          : "ContactUpdate";
      stream.push({
        type,
        locationId,
        id,
        firstName: `${FIRST_NAMES[i % FIRST_NAMES.length]} ${version}`,
        lastName: LAST_NAMES[(i + version) % LAST_NAMES.length],
        email: `contact${i}.v${version}@chaos.example.com`,
        phone: `+4915${String(10_000_000 + ((i * 10 + version) % 89_999_999)).padStart(9, "1")}`,
        dateAdded: new Date(base).toISOString(),
        dateUpdated: new Date(base + i + version * 60_000).toISOString(),
        webhookId: `chaos-${i}-${version}`,
      });
    }
    const final = stream.filter((e) => e.type !== "ContactDelete").at(-1)!;
    contacts.push({ id, locationId, final, deleted });
    streams.push(stream);
  }

  const deliveries: PlannedDelivery[] = [];
  const later = new Map<number, string[]>();
  let duplicatesSent = 0;
  let outOfOrder = 0;
  const emit = (body: string) => {
    deliveries.push({ body });
    if (random() < options.duplicateRate) {
      const at = deliveries.length + 1 + Math.floor(random() * 100);
      later.set(at, [...(later.get(at) ?? []), body]);
      duplicatesSent += 1;
    }
    for (const repeat of later.get(deliveries.length) ?? [])
      deliveries.push({ body: repeat });
    later.delete(deliveries.length);
  };

  const active: { stream: Record<string, unknown>[]; next: number }[] = [];
  let nextContact = 0;
  const fill = () => {
    while (active.length < ACTIVE_CONTACTS && nextContact < streams.length)
      active.push({ stream: streams[nextContact++]!, next: 0 });
  };
  fill();
  while (active.length > 0) {
    const index = Math.floor(random() * active.length);
    const entry = active[index]!;
    const event = entry.stream[entry.next]!;
    const following = entry.stream[entry.next + 1];
    if (following !== undefined && random() < options.outOfOrderRate) {
      emit(JSON.stringify(following));
      emit(JSON.stringify(event));
      entry.next += 2;
      outOfOrder += 1;
    } else {
      emit(JSON.stringify(event));
      entry.next += 1;
    }
    if (entry.next >= entry.stream.length) {
      active.splice(index, 1);
      fill();
    }
  }
  for (const bodies of later.values())
    for (const body of bodies) deliveries.push({ body });
  return { contacts, deliveries, duplicatesSent, outOfOrder };
}
