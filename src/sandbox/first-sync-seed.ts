import type { CoopelSandbox } from "./coopel-sandbox.js";
import type { GhlSandbox } from "./ghl-sandbox.js";

/** Counts of the contacts `seedFirstSync` created. */
export interface FirstSyncSeed {
  ghlContacts: number;
  coopelContacts: number;
}

/**
 * Fills both sandboxes for trying a first sync. It creates `count` GHL
 * contacts, and every third of them on Coopel with the same email (every
 * other one of those in upper case). It adds the cases a first sync must
 * not link on its own: a phone two Coopel contacts share, two GHL contacts
 * with one email, and an email whose name and phone differ.
 */
export function seedFirstSync(
  ghl: GhlSandbox,
  coopel: CoopelSandbox,
  locationId: string,
  count: number,
): FirstSyncSeed {
  let coopelContacts = 0;
  for (let i = 0; i < count; i++) {
    const email = `contact${i}@example.com`;
    const phone = `+1415${String(5_000_000 + i)}`;
    ghl.userCreateContact(locationId, {
      firstName: `Contact`,
      lastName: `Number ${i}`,
      email,
      phone,
      tags: i % 10 === 0 ? ["vip"] : [],
    });
    if (i % 3 !== 0) continue;
    coopel.userCreateContact({
      first_name: "Contact",
      last_name: `Number ${i}`,
      email: i % 2 === 0 ? email.toUpperCase() : email,
      phone,
    });
    coopelContacts++;
  }
  coopel.userCreateContact({ first_name: "Pat", phone: "+14155550123" });
  coopel.userCreateContact({ first_name: "Pat", phone: "+14155550123" });
  ghl.userCreateContact(locationId, {
    firstName: "Pat",
    phone: "+14155550123",
  });
  coopel.userCreateContact({ first_name: "Dana", email: "dana@example.org" });
  ghl.userCreateContact(locationId, {
    firstName: "Dana",
    email: "dana@example.org",
  });
  ghl.userCreateContact(locationId, {
    firstName: "Dana",
    email: "Dana@example.org",
  });
  coopel.userCreateContact({
    first_name: "Bob",
    email: "family@example.org",
    phone: "+14155550188",
  });
  ghl.userCreateContact(locationId, {
    firstName: "Alice",
    email: "family@example.org",
    phone: "+14155550199",
  });
  return { ghlContacts: count + 4, coopelContacts: coopelContacts + 4 };
}
