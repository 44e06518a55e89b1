import { z } from "zod";

const countryCode = z
  .string()
  .regex(/^[A-Z]{2}$/, "a two-letter ISO country code such as US");

/** An http or https URL; other schemes are rejected. */
function httpUrl() {
  return z.url({ protocol: /^https?$/, error: "an http:// or https:// URL" });
}

/** A field transform, written as its name or as an object with options. */
export const transformSchema = z.union([
  z.enum([
    "trim",
    "lowercase",
    "uppercase",
    "titlecase",
    "e164",
    "iso_date",
    "number",
    "boolean",
  ]),
  z
    .object({
      name: z.literal("e164"),
      country: countryCode.optional(),
      /** Coopel field set to true when the number does not parse, so the record shows it. */
      flag_field: z.string().min(1).optional(),
    })
    .strict(),
  z
    .object({
      name: z.literal("date"),
      /** Output layout: tokens YYYY, MM, DD; default YYYY-MM-DD. */
      format: z.string().min(1).default("YYYY-MM-DD"),
    })
    .strict(),
  z
    .object({
      name: z.literal("map"),
      values: z.record(z.string(), z.unknown()),
      /** Value for inputs not in `values`; without it such inputs pass unchanged. */
      default: z.unknown().optional(),
      case_sensitive: z.boolean().default(false),
    })
    .strict(),
  z.object({ name: z.literal("default"), value: z.unknown() }).strict(),
  z
    .object({
      name: z.literal("join"),
      separator: z.string().default(" "),
    })
    .strict(),
  z
    .object({
      name: z.literal("split"),
      separator: z.string().default(" "),
    })
    .strict(),
  z
    .object({
      name: z.literal("expression"),
      /** A JSONata expression; `$value` is the input value and the contact is the context. */
      expression: z.string().min(1),
    })
    .strict(),
]);

/**
 * One mapped field: a Coopel field name, `null` to drop the field, or an
 * object with the Coopel name and the transforms applied in order.
 */
export const fieldMappingSchema = z.union([
  z.null(),
  z.string().min(1),
  z
    .object({
      /** One Coopel field, or several when the last transform is `split`. */
      to: z.union([z.string().min(1), z.array(z.string().min(1)).min(2)]),
      /** GHL fields to read instead of the key, as a list for `join`. */
      from: z.array(z.string().min(1)).min(1).optional(),
      transforms: z.array(transformSchema).default([]),
      /**
       * Transforms applied to the Coopel value when the sync writes GHL.
       * Without it, the field's own transforms are used, which works only
       * when every one of them is a normaliser (trim, lowercase, uppercase,
       * titlecase, e164, iso_date, number, boolean).
       */
      to_ghl_transforms: z.array(transformSchema).optional(),
    })
    .strict(),
]);

/** A tag rule: while `when` holds for a GHL contact, Coopel has `tag`. */
export const tagRuleSchema = z
  .object({
    tag: z.string().min(1),
    /** A JSONata expression over the contact (see README for the fields it sees). */
    when: z.string().min(1),
  })
  .strict();

const deletePolicySchema = z
  .object({
    policy: z.enum(["delete", "mark", "ignore"]).default("delete"),
    mark_field: z.string().min(1).default("deleted_in_ghl"),
    mark_value: z.union([z.string(), z.boolean(), z.number()]).default(true),
  })
  .strict();

const contactMappingSchema = z
  .object({
    fields: z.record(z.string(), fieldMappingSchema).default({}),
    ignore_empty: z.boolean().default(false),
    tags_on_create: z.boolean().default(true),
    /**
     * GHL custom fields by id, by field key (`contact.xxx`) or by name, to
     * Coopel fields. Values are converted by the field's data type first.
     */
    custom_fields: z.record(z.string().min(1), fieldMappingSchema).default({}),
    /** Per-channel DND status (SMS, Call, Email, WhatsApp, GMB, FB) to a Coopel field, true when active. */
    dnd: z
      .partialRecord(
        z.enum(["SMS", "Call", "Email", "WhatsApp", "GMB", "FB"]),
        z.string().min(1),
      )
      .default({}),
    /** Business fields (name, website, address, ...) of the contact's GHL business to Coopel fields. */
    business: z.record(z.string().min(1), fieldMappingSchema).default({}),
  })
  .strict();

/**
 * A conflict rule: `last_writer` keeps the value of the side whose record
 * changed last (GHL `dateUpdated`, Coopel `updated_at`), `ghl` or `coopel`
 * makes that side own the field.
 */
const conflictRuleSchema = z.enum(["last_writer", "ghl", "coopel"]);

const conflictPolicySchema = z
  .object({
    /** The rule for every field not listed in `fields`. */
    policy: conflictRuleSchema.default("last_writer"),
    /** Rules per Coopel field name, such as `{email: ghl}`. */
    fields: z.record(z.string().min(1), conflictRuleSchema).default({}),
  })
  .strict();

const coopelWebhookSchema = z
  .object({
    /** The shared secret of the HMAC-SHA256 signature over the raw body. */
    secret: z.string().min(16),
    /** The request header that carries the hex signature. */
    signature_header: z
      .string()
      .regex(
        /^[A-Za-z0-9-]+$/,
        "an HTTP header name such as x-coopel-signature",
      )
      .default("x-coopel-signature"),
  })
  .strict();

const coopelPollingSchema = z
  .object({
    /** Milliseconds between polls of Coopel contacts; 0 turns polling off. */
    interval_ms: z.number().int().min(0).default(60_000),
    /** Query parameter that filters to records updated at or after a time (ISO 8601). */
    updated_since_param: z.string().min(1).default("updated_since"),
    /** Query parameter of the page size. */
    limit_param: z.string().min(1).default("limit"),
    /** Query parameter that carries the next page's cursor, taken from `next_cursor` of the previous page. */
    cursor_param: z.string().min(1).default("cursor"),
    page_size: z.number().int().min(1).max(1000).default(100),
    /**
     * Milliseconds subtracted from the saved cursor on every poll, so that
     * records sharing the cursor's timestamp are read again instead of missed.
     */
    overlap_ms: z.number().int().min(0).default(1000),
  })
  .strict();

const locationSchema = z
  .object({
    id: z.string().min(1),
    name: z.string().optional(),
    /** A Private Integration token; without one the location uses its OAuth connection. */
    token: z.string().min(1).optional(),
    paused: z.boolean().default(false),
    /** IANA time zone for task due dates written without an offset. */
    time_zone: z.string().min(1).optional(),
    /** Minutes between contact polls of this location; default polling.contacts_minutes, 0 turns them off. */
    contacts_poll_minutes: z.number().int().min(0).optional(),
    /** Entities synced for this location; default all enabled in `sync`. */
    entities: z
      .array(z.enum(["contacts", "tasks", "notes", "tags"]))
      .optional(),
  })
  .strict();

/** A request budget: `requests` in any window of `per_ms` milliseconds, and optionally per day. */
const rateLimitSchema = z
  .object({
    requests: z.number().int().min(1),
    per_ms: z.number().int().min(1),
    daily: z.union([z.number().int().min(1), z.null()]).default(null),
    background_reserve: z.number().min(0).max(1).default(0.1),
  })
  .strict();

const ghlOAuthSchema = z
  .object({
    client_id: z.string().min(1),
    client_secret: z.string().min(1),
    /** Where GHL sends the operator back; default server.public_url + /oauth/callback. */
    redirect_uri: httpUrl().optional(),
    authorize_url: z
      .url()
      .default("https://marketplace.gohighlevel.com/v2/oauth/chooselocation"),
    scopes: z
      .array(z.string().min(1))
      .default([
        "contacts.readonly",
        "contacts.write",
        "locations/customFields.readonly",
        "locations/tags.readonly",
        "locations/tags.write",
        "users.readonly",
        "oauth.readonly",
        "oauth.write",
      ]),
    refresh_margin_ms: z.number().int().min(0).default(300_000),
    probe_interval_ms: z.number().int().min(1000).default(900_000),
  })
  .strict();

const coopelOAuthSchema = z
  .object({
    token_url: httpUrl(),
    client_id: z.string().min(1),
    client_secret: z.string().min(1),
    scope: z.string().optional(),
    refresh_margin_ms: z.number().int().min(0).default(60_000),
  })
  .strict();

const routeSchema = z.union([
  z.string().regex(/^\//, "a path that starts with /"),
  z.null(),
]);

export const coopelRoutesSchema = z
  .object({
    list_contacts: routeSchema.default("/contacts/"),
    create_contact: routeSchema.default("/contacts/"),
    get_contact: routeSchema.default("/contacts/:contactId"),
    update_contact: routeSchema.default("/contacts/:contactId"),
    delete_contact: routeSchema.default("/contacts/:contactId"),
    add_tags: routeSchema.default("/contacts/:contactId/tags"),
    // Not among Coopel's documented routes: GHL-shaped defaults, settable to null.
    remove_tags: routeSchema.default("/contacts/:contactId/tags"),
    create_task: routeSchema.default("/contacts/:contactId/tasks"),
    update_task: routeSchema.default("/contacts/:contactId/tasks/:taskId"),
    complete_task: routeSchema.default(
      "/contacts/:contactId/tasks/:taskId/completed",
    ),
    delete_task: routeSchema.default("/contacts/:contactId/tasks/:taskId"),
    // Not among Coopel's documented routes: GHL-shaped defaults, settable to null.
    create_note: routeSchema.default("/contacts/:contactId/notes"),
    update_note: routeSchema.default("/contacts/:contactId/notes/:noteId"),
    delete_note: routeSchema.default("/contacts/:contactId/notes/:noteId"),
  })
  .strict();

export const configSchema = z
  .object({
    store: z
      .object({
        url: z
          .string()
          .regex(
            /^(sqlite:|postgres(ql)?:\/\/)/,
            "a URL that starts with sqlite: or postgres://",
          )
          .default("sqlite:./data/sync.db"),
        synchronous: z.enum(["normal", "full"]).default("normal"),
        /** Connections each process opens to PostgreSQL; unused with SQLite. */
        max_connections: z.number().int().min(2).max(100).default(10),
      })
      .strict()
      .prefault({}),
    server: z
      .object({
        host: z.string().default("127.0.0.1"),
        port: z.number().int().min(0).max(65535).default(3000),
        public_url: httpUrl().optional(),
        body_limit_bytes: z.number().int().min(1024).default(1_048_576),
        max_inbox_depth: z.number().int().min(1).default(100_000),
      })
      .strict()
      .prefault({}),
    ghl: z
      .object({
        base_url: httpUrl().default("https://services.leadconnectorhq.com"),
        api_version: z.string().default("2021-07-28"),
        locations: z
          .array(locationSchema)
          .default([])
          .refine(
            (list) => new Set(list.map((l) => l.id)).size === list.length,
            {
              error:
                "each location id may appear once; remove the repeated entry",
            },
          ),
        // GHL documents 100 requests per 10 s and 200,000 per day, per app and location.
        rate_limit: rateLimitSchema.prefault({
          requests: 100,
          per_ms: 10_000,
          daily: 200_000,
        }),
        oauth: ghlOAuthSchema.optional(),
        webhooks: z
          .object({
            verify_signatures: z.boolean().default(true),
            /**
             * Oldest `timestamp` accepted, in milliseconds. GHL delivers again
             * after a 429 for up to about 70 minutes, possibly with the first
             * timestamp, so the default leaves room for that.
             */
            max_age_ms: z.number().int().min(60_000).default(10_800_000),
            /** Largest accepted clock skew into the future, in milliseconds. */
            max_future_skew_ms: z.number().int().min(0).default(300_000),
            ed25519_public_keys: z.array(z.string().min(1)).optional(),
            rsa_public_keys: z.array(z.string().min(1)).optional(),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    coopel: z
      .object({
        account_id: z.string().min(1).default("default"),
        base_url: httpUrl(),
        /** A static bearer token; or set `oauth` for the client credentials grant. */
        token: z.string().min(1).optional(),
        oauth: coopelOAuthSchema.optional(),
        timeout_ms: z.number().int().min(100).default(10_000),
        id_field: z.string().min(1).default("id"),
        external_id_field: z
          .union([z.string().min(1), z.null()])
          .default("external_id"),
        routes: coopelRoutesSchema.prefault({}),
        // Null sends without a client-side budget, for an API whose limits are unknown.
        rate_limit: z.union([rateLimitSchema, z.null()]).default(null),
        /** Signed webhooks from Coopel to `POST /webhooks/coopel`; without it the route is off. */
        webhooks: coopelWebhookSchema.optional(),
        /** Polling of Coopel contacts for a Coopel that sends no webhooks; without it, no polling. */
        polling: coopelPollingSchema.optional(),
        /** Coopel field with the record's update time, used by the last-writer conflict rule. */
        updated_at_field: z.string().min(1).default("updated_at"),
        /** GHL location that contacts created on Coopel go to; default the first of ghl.locations. */
        ghl_location_id: z.string().min(1).optional(),
      })
      .strict()
      .refine(
        (coopel) =>
          (coopel.token === undefined) !== (coopel.oauth === undefined),
        {
          message: "set exactly one of coopel.token and coopel.oauth",
        },
      ),
    sync: z
      .object({
        contacts: z
          .object({
            enabled: z.boolean().default(true),
            /** The sync direction: GHL to Coopel, Coopel to GHL, or both (`two_way`). */
            direction: z
              .enum(["ghl_to_coopel", "coopel_to_ghl", "two_way"])
              .default("ghl_to_coopel"),
            delete: deletePolicySchema.prefault({}),
            /** The rules that settle a field changed on both sides since the last sync. */
            conflicts: conflictPolicySchema.prefault({}),
          })
          .strict()
          .prefault({}),
        coalesce_ms: z.number().int().min(0).default(250),
        tasks: z
          .object({
            enabled: z.boolean().default(true),
            /**
             * The task sync direction. Coopel task changes reach GHL through
             * the Coopel webhook route, so `coopel_to_ghl` and `two_way`
             * need `coopel.webhooks`.
             */
            direction: z
              .enum(["ghl_to_coopel", "coopel_to_ghl", "two_way"])
              .default("ghl_to_coopel"),
            /**
             * What Coopel gets as due date when a GHL task has none: `omit`
             * sends no due date, `created_plus_days` sends the task's
             * creation time plus `due_in_days`.
             */
            missing_due_date: z
              .enum(["omit", "created_plus_days"])
              .default("omit"),
            due_in_days: z.number().int().min(0).default(1),
            /** Time zone for due dates without an offset when the location sets none. */
            time_zone: z.string().min(1).default("UTC"),
            /** Minutes between polls of each location's tasks, which find edits that fire no webhook; 0 turns polling off. */
            poll_minutes: z.number().int().min(0).default(15),
          })
          .strict()
          .prefault({}),
        notes: z
          .object({ enabled: z.boolean().default(true) })
          .strict()
          .prefault({}),
        tags: z
          .object({ enabled: z.boolean().default(true) })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    mapping: z
      .object({
        default_country: countryCode.optional(),
        contact: contactMappingSchema.prefault({}),
        /** Tags that the sync adds in Coopel while a condition holds and removes when it stops. */
        tag_rules: z.array(tagRuleSchema).default([]),
      })
      .strict()
      .prefault({}),
    worker: z
      .object({
        enabled: z.boolean().default(true),
        concurrency: z.number().int().min(1).max(256).default(8),
        lease_ms: z.number().int().min(1000).default(30_000),
        max_attempts: z.number().int().min(1).default(8),
        retry_base_ms: z.number().int().min(1).default(500),
        retry_max_ms: z.number().int().min(1).default(300_000),
        poll_ms: z.number().int().min(1).default(200),
        account_pause_ms: z.number().int().min(1000).default(60_000),
      })
      .strict()
      .prefault({}),
    /** First sync (`backfill`) and `reconcile`. */
    backfill: z
      .object({
        /** Share of the location's daily GHL budget (ghl.rate_limit.daily) one backfill run may use. */
        budget_share: z.number().gt(0).max(1).default(0.5),
        /** GHL contacts per search page, 1 to 500. */
        page_size: z.number().int().min(1).max(500).default(500),
        /** Coopel contacts per list page. */
        coopel_page_size: z.number().int().min(1).max(1000).default(500),
        /** Coopel writes in flight at once. */
        concurrency: z.number().int().min(1).max(64).default(8),
      })
      .strict()
      .prefault({}),
    /** Polling repair: reads what GHL changed since the last poll and syncs what webhooks missed. */
    polling: z
      .object({
        /** Minutes between contact polls of each location; 0 turns them off. ghl.locations[].contacts_poll_minutes overrides it. */
        contacts_minutes: z.number().int().min(0).default(15),
        /** Each poll reads again this far before its cursor, for changes that became searchable late. */
        overlap_ms: z.number().int().min(0).default(120_000),
        /** Contacts per search page, 1 to 500. */
        page_size: z.number().int().min(1).max(500).default(100),
        /** Pages per location and poll; the rest waits for the next poll. */
        max_pages: z.number().int().min(1).default(50),
        /** A poll is deferred while the share of the daily GHL budget left is below this. */
        min_daily_remaining: z.number().min(0).max(1).default(0.2),
      })
      .strict()
      .prefault({}),
    /** Compute and log every write as a plan and send none; events end as skipped (reason dry_run) without storing links. */
    dry_run: z.boolean().default(false),
    sandbox: z
      .object({
        enabled: z.boolean().default(false),
        ghl_port: z.number().int().min(0).max(65535).default(4101),
        coopel_port: z.number().int().min(0).max(65535).default(4102),
      })
      .strict()
      .prefault({}),
    demo: z
      .object({
        enabled: z.boolean().default(false),
        contacts: z.number().int().min(1).default(300),
        changes: z.number().int().min(1).default(1200),
        concurrency: z.number().int().min(1).default(16),
        seed: z.number().int().default(42),
      })
      .strict()
      .prefault({}),
    admin: z
      .object({
        /** scrypt hash from `ghl-coopel-sync hash-password`. */
        password_hash: z
          .string()
          .regex(
            /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/,
            "a hash printed by `ghl-coopel-sync hash-password`",
          )
          .optional(),
        /** A bearer token for scripts and metrics scrapers; at least 32 characters. */
        token: z.string().min(32).optional(),
        session_ttl_ms: z.number().int().min(60_000).default(43_200_000),
        /** Marks the session cookie Secure; turn off only for plain-HTTP tests on 127.0.0.1. */
        secure_cookies: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z
          .enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"])
          .default("info"),
        pretty: z.enum(["auto", "always", "never"]).default("auto"),
        /** Hides emails, phones and names in log lines at info level and above. */
        redact_personal_data: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** The configuration as written in the YAML file, before defaults apply. */
export type ConfigInput = z.input<typeof configSchema>;
/** The validated configuration with every default filled in. */
export type Config = z.output<typeof configSchema>;
export type FieldMapping = z.output<typeof fieldMappingSchema>;
export type Transform = z.output<typeof transformSchema>;
export type CoopelRoutes = z.output<typeof coopelRoutesSchema>;
export type TagRule = z.output<typeof tagRuleSchema>;
export type ConflictRule = z.output<typeof conflictRuleSchema>;
export type Direction = Config["sync"]["contacts"]["direction"];
