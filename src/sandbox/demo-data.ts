import { pickOne, pickSome, randomInt, type RandomSource } from "./random.js";

/** Values for generated demo contacts: names in several scripts, and addresses that fit their country. */

const FIRST_NAMES = [
  "José",
  "Zoë",
  "François",
  "Søren",
  "Łukasz",
  "Mária",
  "Ngozi",
  "Aroha",
  "Siobhán",
  "Jürgen",
  "王芳",
  "李",
  "佐藤",
  "민준",
  "Дмитрий",
  "Ольга",
  "محمد",
  "فاطمة",
  "Ana 🌸",
  "Kai 🚀",
  "Ana-Lucía",
  "O'Brien",
];
const LAST_NAMES = [
  "García",
  "Müller",
  "Núñez",
  "Østergaard",
  "Brzęczyszczykiewicz",
  "Nguyễn",
  "Ó Súilleabháin",
  "张",
  "山田",
  "김",
  "Иванова",
  "Смирнов",
  "الحسيني",
  "عبد الله",
  "Smith",
  "van der Berg",
  "Dupont ✨",
];
const EMAIL_LOCAL_PARTS = [
  "Jose.Garcia",
  "ZOE",
  "f.dupont",
  "Soren.O",
  "LUKASZ.b",
  "maria",
  "NGOZI",
  "wang.fang",
  "Olga.I",
  "m.ali",
  "Kai",
];
const EMAIL_DOMAINS = [
  "Example.com",
  "example.org",
  "EXAMPLE.NET",
  "mail.example.com",
];
const COMPANIES = [
  "Café Ñandú S.A.",
  "Müller & Söhne GmbH",
  "株式会社テスト",
  "ООО Ромашка",
  "شركة المثال",
  "Acme 🚀 Inc.",
  "Loram ipsum",
];
const SOURCES = ["web form", "public api", "xyz form", "import", "referral"];
const TAGS = [
  "vip",
  "newsletter",
  "lead",
  "customer",
  "église",
  "東京",
  "клиент",
  "عميل",
  "🔥 hot",
  "follow up",
];

interface Place {
  country: string;
  city: string;
  state: string;
  postalCode: string;
  address1: string;
}

const PLACES: Place[] = [
  {
    country: "US",
    city: "San Francisco",
    state: "CA",
    postalCode: "94103",
    address1: "3535 1st St N",
  },
  {
    country: "GB",
    city: "London",
    state: "England",
    postalCode: "SW1A 1AA",
    address1: "10 Downing St",
  },
  {
    country: "DE",
    city: "München",
    state: "Bayern",
    postalCode: "80331",
    address1: "Marienplatz 8",
  },
  {
    country: "FR",
    city: "Paris",
    state: "Île-de-France",
    postalCode: "75001",
    address1: "5 Rue de Rivoli",
  },
  {
    country: "JP",
    city: "東京",
    state: "東京都",
    postalCode: "100-0001",
    address1: "千代田1-1",
  },
  {
    country: "IN",
    city: "Indore",
    state: "MP",
    postalCode: "452001",
    address1: "12 MG Road",
  },
];

const digits = (random: RandomSource, count: number): string =>
  Array.from({ length: count }, () => String(randomInt(random, 0, 9))).join("");

/** Phone formats readable as US national numbers; they need the contact's country to be US or unset. */
const US_NATIONAL_PHONES: ((random: RandomSource) => string)[] = [
  (random) => `(415) 555-01${digits(random, 2)}`,
  (random) => `415.555.01${digits(random, 2)}`,
  (random) => `+1 415-555-01${digits(random, 2)}`,
];
/** International formats, valid whatever the contact's country is. */
const INTERNATIONAL_PHONES: ((random: RandomSource) => string)[] = [
  (random) => `+44 20 7946 0${digits(random, 3)}`,
  (random) => `+49 30 ${digits(random, 7)}`,
  (random) =>
    `+33 1 ${digits(random, 2)} ${digits(random, 2)} ${digits(random, 2)} ${digits(random, 2)}`,
  (random) => `+81 3-${digits(random, 4)}-${digits(random, 4)}`,
  (random) => `+91 9${digits(random, 4)} ${digits(random, 5)}`,
];

/** Returns a phone in one of several written formats; national US formats only when `country` is US or unset. */
export function generatePhone(
  random: RandomSource,
  country: string | undefined,
): string {
  const formats =
    country === undefined || country === "US"
      ? [...US_NATIONAL_PHONES, ...INTERNATIONAL_PHONES]
      : INTERNATIONAL_PHONES;
  return pickOne(random, formats)(random);
}

/** Returns an email made unique by `serial`, often in mixed case. */
export function generateEmail(random: RandomSource, serial: number): string {
  return `${pickOne(random, EMAIL_LOCAL_PARTS)}.${serial}@${pickOne(random, EMAIL_DOMAINS)}`;
}

function generateDateOfBirth(random: RandomSource): string {
  const month = String(randomInt(random, 1, 12)).padStart(2, "0");
  const day = String(randomInt(random, 1, 28)).padStart(2, "0");
  return `${randomInt(random, 1940, 2005)}-${month}-${day}`;
}

/** Generates a value for one contact field; `country` is the contact's country after this change. */
export function generateFieldValue(
  random: RandomSource,
  field: string,
  serial: number,
  country: string | undefined,
): unknown {
  switch (field) {
    case "firstName":
      return pickOne(random, FIRST_NAMES);
    case "lastName":
      return pickOne(random, LAST_NAMES);
    case "email":
      return generateEmail(random, serial);
    case "phone":
      return generatePhone(random, country);
    case "companyName":
      return pickOne(random, COMPANIES);
    case "website":
      return `https://www.example.com/${serial}`;
    case "dateOfBirth":
      return generateDateOfBirth(random);
    case "source":
      return pickOne(random, SOURCES);
    case "tags":
      return pickSome(random, TAGS, randomInt(random, 0, 3));
    case "dnd":
      return random() < 0.2;
    case "country":
      return pickOne(random, PLACES).country;
    default: {
      const place =
        PLACES.find((candidate) => candidate.country === country) ??
        pickOne(random, PLACES);
      return place[field as keyof Place];
    }
  }
}

/**
 * Fields the generated updates change. Tags are set at create only: GHL
 * reports a tag change with ContactTagUpdate, which the demo sends for its
 * tag changes, and the sync reads tags from that event alone.
 */
export const UPDATABLE_FIELDS = [
  "firstName",
  "lastName",
  "email",
  "phone",
  "companyName",
  "address1",
  "city",
  "state",
  "postalCode",
  "country",
  "website",
  "dateOfBirth",
  "source",
  "dnd",
] as const;

/**
 * Generates the fields of a new contact. Each optional field is missing with a small probability,
 * so some contacts lack an email, a phone or an address.
 */
export function generateNewContact(
  random: RandomSource,
  serial: number,
): Record<string, unknown> {
  const place = random() < 0.15 ? undefined : pickOne(random, PLACES);
  const fields: Record<string, unknown> = {
    firstName: pickOne(random, FIRST_NAMES),
    lastName: pickOne(random, LAST_NAMES),
    tags: generateFieldValue(random, "tags", serial, undefined),
    dnd: random() < 0.1,
  };
  if (place !== undefined) Object.assign(fields, place);
  const optional = [
    "email",
    "phone",
    "companyName",
    "website",
    "dateOfBirth",
    "source",
  ];
  for (const field of optional) {
    if (random() >= 0.12) {
      fields[field] = generateFieldValue(random, field, serial, place?.country);
    }
  }
  if (random() < 0.08) delete fields.lastName;
  return fields;
}
