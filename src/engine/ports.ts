/**
 * The interfaces the engine depends on. Adapters in src/store, src/queue and
 * src/connectors implement them; the engine never imports an adapter.
 * Nothing here assumes one process, one database engine or one GHL location.
 */

/** The system an event came from. */
export type Source = "ghl" | "coopel";

/** A webhook or poll result accepted into the durable inbox. */
export interface InboxEvent {
  source: Source;
  /** The account the event belongs to: a GHL location id or a Coopel account id. */
  accountId: string;
  /** Event type as the source names it, for example `ContactCreate`. */
  type: string;
  /** Events with the same key run one at a time, in arrival order. */
  orderingKey: string;
  /** The source's delivery id, used to drop repeats; null when the source sent none. */
  deliveryId: string | null;
  /** Epoch milliseconds when the receiver accepted the event. */
  receivedAt: number;
  /**
   * Epoch milliseconds when the source last changed the record, when the
   * event carries it. Used to skip stale events and to pick the newest of
   * coalesced ones; null when unknown.
   */
  sourceUpdatedAt?: number | null;
  /** Epoch milliseconds before which the job is not claimed; defaults to `receivedAt`. */
  runAt?: number;
  /**
   * Maximum hold of a held event, in milliseconds. A still-held pending job
   * of the same key and type then waits for this event's `runAt` too, at
   * most `maxHoldMs` after its own arrival, so a burst of edits makes one write.
   */
  maxHoldMs?: number;
  payload: Record<string, unknown>;
}

export type EnqueueResult = "accepted" | "duplicate";

/** An event claimed by a worker under a lease. */
export interface Job {
  id: string;
  event: InboxEvent;
  /** Number of times this job has been claimed, including the current claim. */
  attempt: number;
}

/**
 * The end state of a job. `unsupported` means the event needs a Coopel
 * route that is set to null in config, so it is neither failed nor retried.
 */
export type Outcome =
  "synced" | "skipped" | "ignored" | "unsupported" | "failed";

/** A row of the link table: one record known on both sides. */
export interface Link {
  entity: "contact" | "task" | "note";
  ghlLocationId: string;
  ghlId: string;
  coopelAccountId: string;
  /** The Coopel id, or null for a tombstone of a contact deleted before it was ever linked. */
  coopelId: string | null;
  /**
   * Per Coopel field, a hash of the value the sync last wrote there, so that
   * an event that changes nothing sends nothing. Hashes keep personal data
   * out of the link table.
   */
  fieldHashes: Record<string, string>;
  /** Epoch milliseconds when GHL reported the record deleted; null while it exists. */
  deletedAt: number | null;
  /**
   * The source's update time (epoch milliseconds) of the newest event
   * applied to this record; events older than it are skipped. Null when no
   * applied event carried one.
   */
  sourceUpdatedAt?: number | null;
  updatedAt: number;
  /**
   * Contacts only: the GHL tag list last seen, or null when no event has
   * carried one yet. Tag changes are diffed against it. Absent means null.
   */
  tags?: string[] | null;
  /** Contacts only: the tags that tag rules added on Coopel and still own. Absent means none. */
  ruleTags?: string[];
  /** Tasks and notes only: the GHL id of the contact the record belongs to. Absent means unknown. */
  parentGhlId?: string | null;
  /**
   * Contacts only: per mapped field (by Coopel name), a hash of the value
   * GHL is known to have, written by the sync or read from a GHL event.
   * Coopel to GHL writes send only fields that differ from it. Absent means none.
   */
  ghlFieldHashes?: Record<string, string>;
  /**
   * Contacts only: the Coopel tag list last seen, which Coopel tag changes
   * are diffed against. Absent or null means none seen yet.
   */
  coopelTags?: string[] | null;
}

/** The side of the sync a record lives on. */
export type Side = Source;

/**
 * The content the sync is about to write to one record, stored before the
 * request is sent, so that the change coming back as an event (an echo)
 * is recognised even when it arrives before the write's response.
 */
export interface WriteIntent {
  side: Side;
  /** The GHL location id or the Coopel account id. */
  accountId: string;
  /** The record's id on `side`; for a create, `email:<email>` or `phone:<E.164>`. */
  recordKey: string;
  /** Per mapped field (by Coopel name), a hash of the value written. */
  hashes: Record<string, string>;
  createdAt: number;
}

/** A field changed on both sides since the last sync, and how the policy settled it. */
export interface Conflict {
  entity: Link["entity"];
  ghlLocationId: string;
  ghlId: string;
  coopelAccountId: string;
  coopelId: string;
  /** The field, by its Coopel name. */
  field: string;
  ghlValue: unknown;
  coopelValue: unknown;
  /** Epoch milliseconds of GHL's `dateUpdated`, or null when unknown. */
  ghlUpdatedAt: number | null;
  /** Epoch milliseconds of Coopel's update time, or null when unknown. */
  coopelUpdatedAt: number | null;
  winner: Side;
  /** The rule that picked the winner: `last_writer`, `ghl` or `coopel`. */
  rule: string;
  detectedAt: number;
}

/** A stored conflict with its id. */
export interface ConflictRecord extends Conflict {
  id: string;
}

/** The state two-way sync keeps: reverse link lookups, write intents, the conflict log and poll cursors. */
export interface TwoWayStore {
  /** The link whose Coopel side is `coopelId`, or null. */
  getLinkByCoopelId(
    entity: Link["entity"],
    coopelAccountId: string,
    coopelId: string,
  ): Promise<Link | null>;
  /** Stores an intent, replacing the one of the same side and record key. */
  recordWriteIntent(intent: WriteIntent): Promise<void>;
  /** Returns the intents of `side` and `accountId` for the given record keys. */
  getWriteIntents(
    side: Side,
    accountId: string,
    recordKeys: string[],
  ): Promise<WriteIntent[]>;
  /** Removes the intents of `side` and `accountId` for the given record keys. */
  clearWriteIntents(
    side: Side,
    accountId: string,
    recordKeys: string[],
  ): Promise<void>;
  /**
   * Stores a conflict. A conflict equal in record, field and both values to
   * one already stored is kept once; returns whether it was new.
   */
  addConflict(conflict: Conflict): Promise<boolean>;
  /** Conflicts, newest first. */
  listConflicts(filter: {
    limit: number;
    since?: number;
    /** Only conflicts of this field, by its Coopel name. */
    field?: string;
  }): Promise<ConflictRecord[]>;
  /** The saved value of a poll cursor, or null. */
  getCursor(name: string): Promise<string | null>;
  saveCursor(name: string, value: string): Promise<void>;
}

/** The logging calls the engine makes; pino loggers satisfy it. */
export interface Logger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** What a finished job changes in the store, applied in the same transaction that marks it done. */
export interface Completion {
  outcome: Outcome;
  /** Short machine-readable reason, for example `no_change` or `unknown_contact`. */
  reason: string | null;
  links: Link[];
  /** Requests sent to the other side while handling the job. */
  requests: RequestSummary[];
  warnings: string[];
}

/** A request the connector sent, without secrets or bodies. */
export interface RequestSummary {
  /** The API the request went to, such as `GHL` or `Coopel`; absent in records made before it was kept. */
  api?: string;
  method: string;
  path: string;
  status: number | null;
  durationMs: number;
}

/** A failed attempt, kept on the job and in the dead-letter list. */
export interface JobFailure {
  errorClass: "retryable" | "permanent" | "account";
  message: string;
  requests: RequestSummary[];
}

/** An account whose jobs are held because the API rejected the account itself. */
export interface AccountPause {
  /** The system whose API rejected the account. */
  system: Source;
  accountId: string;
  /** Machine-readable reason, for example `token_invalid` or `missing_scope`. */
  reason: string;
  /** The error message that caused the pause. */
  message: string;
  pausedAt: number;
  /**
   * Epoch milliseconds from which the account's jobs are claimed again; the
   * first of them that fails the same way pauses the account again.
   */
  retryAt: number;
}

/** Filters of the dead-letter list; unset fields match everything. */
export interface DeadLetterFilter {
  ids?: string[];
  accountId?: string;
  type?: string;
  errorClass?: JobFailure["errorClass"];
  /** Only jobs that gave up at or after this epoch millisecond. */
  since?: number;
  limit?: number;
}

/** A job that the worker gave up on, with what is needed to understand and replay it. */
export interface DeadLetter {
  id: string;
  event: InboxEvent;
  errorClass: JobFailure["errorClass"];
  lastError: string;
  /** The requests of the last attempt, without headers or bodies. */
  requests: RequestSummary[];
  attempts: number;
  finishedAt: number;
}

/** Options of `Queue.claim`. */
export interface ClaimOptions {
  /**
   * Event types whose pending jobs of one ordering key collapse into the one
   * with the newest `sourceUpdatedAt` (then the newest id) when claimed; the
   * others end as skipped with reason `coalesced`. The kept job's payload
   * becomes the merge of the run's payloads, older first, because an update
   * may leave out fields it did not change; its attempt count becomes the
   * highest of the run. A job of another type ends the run, so a delete
   * never merges with the updates around it.
   */
  coalesceTypes?: readonly string[];
  /** Accounts whose jobs the claim leaves pending, as `source:accountId`. */
  skipAccounts?: readonly string[];
}

/** The durable inbox and its queue of jobs. */
export interface Queue {
  /** Stores events durably and returns, per event, whether it was new. */
  enqueue(events: InboxEvent[]): Promise<EnqueueResult[]>;
  /**
   * Claims up to `limit` runnable jobs for `leaseMs`. A job is runnable when
   * no older job with the same ordering key is pending or running.
   */
  claim(
    workerId: string,
    limit: number,
    leaseMs: number,
    options?: ClaimOptions,
  ): Promise<Job[]>;
  /**
   * Extends the leases of running jobs that `workerId` still holds to
   * `leaseMs` from now, so that a job slower than one lease is not handed
   * to another worker while it runs. Jobs the worker no longer holds are
   * left alone.
   */
  extendLeases(
    workerId: string,
    jobIds: string[],
    leaseMs: number,
  ): Promise<void>;
  complete(job: Job, completion: Completion): Promise<void>;
  /** Releases the job to run again at `runAt` (epoch milliseconds). */
  retry(job: Job, runAt: number, failure: JobFailure): Promise<void>;
  /** Gives up on the job and stores it in the dead-letter list. */
  deadLetter(job: Job, failure: JobFailure): Promise<void>;
  /**
   * Pauses an account and returns `job` to pending without counting its
   * attempt. Until `pause.retryAt`, no job is claimed whose event comes from
   * that account, nor any GHL job while its Coopel account is paused. A job
   * that the pause does not hold, such as a Coopel job that met a paused GHL
   * location, runs again at `pause.retryAt`.
   */
  pauseAccount(job: Job, pause: AccountPause): Promise<void>;
  /** Lifts a pause at once; returns false when the account was not paused. */
  resumeAccount(system: Source, accountId: string): Promise<boolean>;
  listPausedAccounts(): Promise<AccountPause[]>;
  listDeadLetters(filter: DeadLetterFilter): Promise<DeadLetter[]>;
  /**
   * Makes the matching dead jobs pending again and returns how many. Their
   * attempt count restarts at 1, so the next run counts as a repeat and
   * looks up before creating. Jobs that are no longer dead are left alone, so
   * repeating a replay does nothing new.
   */
  replayDeadLetters(filter: DeadLetterFilter): Promise<number>;
  /** Number of jobs not finished yet. */
  depth(): Promise<number>;
  /** Epoch milliseconds when the oldest job not finished yet was received, or null when there is none. */
  oldestPendingAt(): Promise<number | null>;
  /** Calls `listener` when new jobs may be runnable; returns a function that unsubscribes. */
  subscribe(listener: () => void): () => void;
  close(): Promise<void>;
}

/** Counts and latencies of finished events, for the summary and status commands. */
export interface EventStats {
  received: number;
  pending: number;
  synced: number;
  skipped: number;
  ignored: number;
  /** Events that need a Coopel route set to null in config. */
  unsupported: number;
  failed: number;
  /** Events that sent at least one write to the other side. */
  wrote: number;
  /** Median and 99th percentile milliseconds from receipt to the end of processing, over events that wrote. */
  writeLatencyP50Ms: number | null;
  writeLatencyP99Ms: number | null;
}

/** Where a job stands: waiting or running, finished, or given up on (a dead letter). */
export type JobState = "pending" | "running" | "done" | "dead";

/** One event of the history, as the dashboard and the CLI list it. */
export interface EventRecord {
  id: string;
  source: Source;
  accountId: string;
  type: string;
  orderingKey: string;
  deliveryId: string | null;
  state: JobState;
  /** Null until the job finishes. */
  outcome: Outcome | null;
  reason: string | null;
  /** Claims so far. */
  attempts: number;
  receivedAt: number;
  finishedAt: number | null;
  /** Message of the last failed attempt, if any. */
  lastError: string | null;
  errorClass: JobFailure["errorClass"] | null;
}

/** An event with what it carried and what handling it sent. */
export interface EventDetail extends EventRecord {
  payload: Record<string, unknown>;
  /** Requests of the final attempt, or of the last failed one. */
  requests: RequestSummary[];
  warnings: string[];
}

/** Filters for listing events; every field narrows the list. */
export interface EventFilter {
  type?: string;
  state?: JobState;
  outcome?: Outcome;
  /** Text found in the ordering key or delivery id, such as a contact id. */
  contains?: string;
  /** Epoch milliseconds, inclusive lower bound on receipt. */
  since?: number;
  /** Epoch milliseconds, exclusive upper bound on receipt. */
  until?: number;
  /** Only events older than this id, for paging newest first. */
  beforeId?: string;
  limit: number;
}

/** Events received and failed in one time bucket. */
export interface EventBucket {
  /** Epoch milliseconds of the bucket's start. */
  start: number;
  received: number;
  failed: number;
}

/** A GHL location an operator paused: its events are kept and wait until it is resumed. */
export interface LocationPause {
  locationId: string;
  reason: string;
  /** The person or token that paused it, such as `admin (session)`. */
  pausedBy: string;
  /** Epoch milliseconds. */
  pausedAt: number;
}

/** The contacts of one location in the link table at one time. */
export interface ContactCount {
  /** Epoch milliseconds. */
  recordedAt: number;
  locationId: string;
  /** GHL contacts the sync has seen and that GHL has not deleted. */
  ghlContacts: number;
  /** Of those, the ones with a Coopel record. */
  coopelContacts: number;
}

/** Requests that jobs of one account sent to one API. */
export interface ApiUsage {
  /** The account of the jobs: a GHL location id. */
  accountId: string;
  /** `GHL`, `Coopel`, or `unknown` for records made before the API was kept. */
  api: string;
  requests: number;
}

/** Links, event history and other state that outlives a process. */
export interface Store {
  getLink(
    entity: Link["entity"],
    ghlLocationId: string,
    ghlId: string,
  ): Promise<Link | null>;
  listLinks(entity: Link["entity"], ghlLocationId: string): Promise<Link[]>;
  /**
   * Replaces the rule tags of a contact link and leaves its other columns as
   * they are. Returns false when the contact has no link.
   */
  saveRuleTags(
    ghlLocationId: string,
    ghlId: string,
    ruleTags: string[],
    updatedAt: number,
  ): Promise<boolean>;
  eventStats(sinceMs: number): Promise<EventStats>;
  /** Events matching `filter`, newest first. */
  listEvents(filter: EventFilter): Promise<EventRecord[]>;
  /** One event with its payload and requests, or null when the id is unknown. */
  getEvent(id: string): Promise<EventDetail | null>;
  /**
   * Events received since `sinceMs`, counted in buckets of `bucketMs` that
   * start at `sinceMs`; buckets without events are included with zeros.
   */
  eventSeries(sinceMs: number, bucketMs: number): Promise<EventBucket[]>;
  /** Stores an operator's pause of a location, replacing an earlier one. */
  pauseLocation(pause: LocationPause): Promise<void>;
  /** Removes the pause of a location; returns false when it was not paused. */
  resumeLocation(locationId: string): Promise<boolean>;
  listLocationPauses(): Promise<LocationPause[]>;
  /** Counts the contact links of every location and stores the counts with `recordedAt`. */
  recordContactCounts(recordedAt: number): Promise<void>;
  /** Stored contact counts since `sinceMs`, oldest first. */
  contactCounts(sinceMs: number): Promise<ContactCount[]>;
  /**
   * Requests kept with the jobs received since `sinceMs`, by account and
   * API. Only the requests of each job's last attempt are kept, so retried
   * jobs count low.
   */
  apiUsage(sinceMs: number): Promise<ApiUsage[]>;
  /** Resolves when the store accepts writes now; rejects with the reason otherwise. */
  checkWritable(): Promise<void>;
  close(): Promise<void>;
}

/** A contact as Coopel returns it: snake_case fields and an id field. */
export type CoopelRecord = Record<string, unknown>;

/** Filters for finding existing Coopel contacts before creating one. */
export interface CoopelLookup {
  externalId?: string;
  email?: string;
  phone?: string;
}

/** Per-job context for connector calls: the requests sent are appended to `requests`. */
export interface CallContext {
  requests: RequestSummary[];
  /** Whether the calls serve a webhook event or background work; background work yields first when budgets run low. */
  priority?: "webhook" | "background";
}

/** Configurable Coopel operations; each can be switched off by setting its route to null. */
export type CoopelOperation =
  | "add_tags"
  | "remove_tags"
  | "create_task"
  | "update_task"
  | "complete_task"
  | "delete_task"
  | "create_note"
  | "update_note"
  | "delete_note";

/** The Coopel API as the engine uses it. Failures throw ApiError. */
export interface CoopelClient {
  readonly accountId: string;
  /** False when the operation's route is set to null in config. */
  supports(operation: CoopelOperation): boolean;
  /** Name of the Coopel field that stores the GHL id, or null when none is configured. */
  readonly externalIdField: string | null;
  createContact(
    body: CoopelRecord,
    context: CallContext,
  ): Promise<{ id: string; record: CoopelRecord }>;
  updateContact(
    id: string,
    body: CoopelRecord,
    context: CallContext,
  ): Promise<CoopelRecord>;
  /** Reads one contact; null when Coopel reports it missing (404). */
  getContact(id: string, context: CallContext): Promise<CoopelRecord | null>;
  deleteContact(id: string, context: CallContext): Promise<void>;
  findContacts(
    lookup: CoopelLookup,
    context: CallContext,
  ): Promise<{ id: string; record: CoopelRecord }[]>;
  /** Reads one contact; null when Coopel reports it missing. */
  getContact(id: string, context: CallContext): Promise<CoopelRecord | null>;
  /**
   * One page of all contacts in Coopel's list order; `nextCursor` is null
   * on the last page.
   */
  listContacts(
    page: { cursor: string | null; limit: number },
    context: CallContext,
  ): Promise<{
    contacts: { id: string; record: CoopelRecord }[];
    nextCursor: string | null;
  }>;
  addTags(
    contactId: string,
    tags: string[],
    context: CallContext,
  ): Promise<void>;
  removeTags(
    contactId: string,
    tags: string[],
    context: CallContext,
  ): Promise<void>;
  createTask(
    contactId: string,
    body: CoopelRecord,
    context: CallContext,
  ): Promise<{ id: string; record: CoopelRecord }>;
  updateTask(
    contactId: string,
    taskId: string,
    body: CoopelRecord,
    context: CallContext,
  ): Promise<void>;
  completeTask(
    contactId: string,
    taskId: string,
    completed: boolean,
    context: CallContext,
  ): Promise<void>;
  deleteTask(
    contactId: string,
    taskId: string,
    context: CallContext,
  ): Promise<void>;
  createNote(
    contactId: string,
    body: CoopelRecord,
    context: CallContext,
  ): Promise<{ id: string; record: CoopelRecord }>;
  updateNote(
    contactId: string,
    noteId: string,
    body: CoopelRecord,
    context: CallContext,
  ): Promise<void>;
  deleteNote(
    contactId: string,
    noteId: string,
    context: CallContext,
  ): Promise<void>;
}

/** A GHL record as the API returns it: camelCase fields and an `id`. */
export type GhlRecord = Record<string, unknown>;

/** The GHL API as the engine uses it. Failures throw ApiError. */
export interface GhlApi {
  /** Returns the contact, or null when GHL reports it does not exist. */
  getContact(
    locationId: string,
    contactId: string,
    context: CallContext,
  ): Promise<GhlRecord | null>;
  /** Returns the task, or null when GHL reports it does not exist. */
  getTask(
    locationId: string,
    contactId: string,
    taskId: string,
    context: CallContext,
  ): Promise<GhlRecord | null>;
  /** Returns the note, or null when GHL reports it does not exist. */
  getNote(
    locationId: string,
    contactId: string,
    noteId: string,
    context: CallContext,
  ): Promise<GhlRecord | null>;
  /** One page of the location-wide task search (`POST /locations/:id/tasks/search`). */
  searchTasks(
    locationId: string,
    query: { contactIds?: string[]; limit: number; skip: number },
    context: CallContext,
  ): Promise<GhlRecord[]>;
  /**
   * One page of `POST /contacts/search`. The body is sent as given, plus
   * `locationId`. `total` is what GHL reports, which a full scan must not
   * trust; null when absent.
   */
  searchContacts(
    locationId: string,
    body: GhlSearchBody,
    context: CallContext,
  ): Promise<{ contacts: GhlRecord[]; total: number | null }>;
  /** The contact custom field definitions of a location. */
  listCustomFields(
    locationId: string,
    context: CallContext,
  ): Promise<GhlCustomFieldDefinition[]>;
  /** Returns the business, or null when GHL reports it does not exist. */
  getBusiness(
    locationId: string,
    businessId: string,
    context: CallContext,
  ): Promise<GhlRecord | null>;
  /** The appointments of a contact. */
  listAppointments(
    locationId: string,
    contactId: string,
    context: CallContext,
  ): Promise<GhlRecord[]>;
  /**
   * Creates a contact (`POST /contacts/`). When the location does not allow
   * duplicates and one exists, GHL returns 400 with the existing id in
   * `meta.contactId`. This method then returns that id with
   * `duplicate: true` instead of failing, and the contact is left unchanged.
   */
  createContact(
    locationId: string,
    body: GhlContactWrite,
    context: CallContext,
  ): Promise<GhlCreateResult>;
  /**
   * Updates a known contact by id (`PUT /contacts/:id`). `tags` is never
   * sent, because tags on PUT replace the whole list; use addTags and
   * removeTags. Returns the contact as GHL stored it.
   */
  updateContact(
    locationId: string,
    contactId: string,
    body: GhlContactWrite,
    context: CallContext,
  ): Promise<GhlRecord>;
  /** Adds tags to a contact (`POST /contacts/:id/tags`); returns the full tag list when GHL sends it. */
  addTags(
    locationId: string,
    contactId: string,
    tags: string[],
    context: CallContext,
  ): Promise<string[] | null>;
  /** Removes tags from a contact (`DELETE /contacts/:id/tags`); returns the remaining list when GHL sends it. */
  removeTags(
    locationId: string,
    contactId: string,
    tags: string[],
    context: CallContext,
  ): Promise<string[] | null>;
  /** Deletes a contact (`DELETE /contacts/:id`); a contact GHL reports missing counts as deleted. */
  deleteContact(
    locationId: string,
    contactId: string,
    context: CallContext,
  ): Promise<void>;
  /** Creates a task of a contact (`POST /contacts/:contactId/tasks`); returns the task with its `id`. */
  createTask(
    locationId: string,
    contactId: string,
    body: GhlRecord,
    context: CallContext,
  ): Promise<GhlRecord & { id: string }>;
  /** Updates a task (`PUT /contacts/:contactId/tasks/:taskId`) with the fields given. */
  updateTask(
    locationId: string,
    contactId: string,
    taskId: string,
    body: GhlRecord,
    context: CallContext,
  ): Promise<void>;
  /** Sets a task's completed flag (`PUT /contacts/:contactId/tasks/:taskId/completed`). */
  completeTask(
    locationId: string,
    contactId: string,
    taskId: string,
    completed: boolean,
    context: CallContext,
  ): Promise<void>;
  /** Deletes a task; a task GHL reports missing counts as deleted. */
  deleteTask(
    locationId: string,
    contactId: string,
    taskId: string,
    context: CallContext,
  ): Promise<void>;
  /**
   * Finds the contact that GHL's duplicate rule matches for an email or a
   * phone (`GET /contacts/search/duplicate`), or null when there is none.
   */
  findDuplicate(
    locationId: string,
    lookup: { email?: string; phone?: string },
    context: CallContext,
  ): Promise<GhlRecord | null>;
}

/**
 * A contact body to write to GHL: standard fields by their GHL names, and
 * custom field values by custom field id. The connector turns the custom
 * fields into GHL's write form `{id, field_value}` and drops every field
 * the route's request schema does not accept.
 */
export interface GhlContactWrite {
  fields: Record<string, unknown>;
  customFields?: Record<string, unknown>;
}

/** The result of a GHL contact create. */
export interface GhlCreateResult {
  id: string;
  /** The created contact, or null when GHL reported an existing duplicate. */
  record: GhlRecord | null;
  /** True when GHL refused the create because the contact exists; `id` is the existing contact. */
  duplicate: boolean;
  /** Fields left out because the route does not accept them. */
  stripped: string[];
}

/** The body of a contact search, without `locationId`. */
export interface GhlSearchBody {
  pageLimit: number;
  /** The `searchAfter` value of the last record of the previous page. */
  searchAfter?: unknown[];
  filters?: unknown[];
  sort?: { field: string; direction: "asc" | "desc" }[];
}

/** A custom field definition as `GET /locations/:id/customFields` returns it. */
export interface GhlCustomFieldDefinition {
  id: string;
  name: string;
  /** `contact.xxx` */
  fieldKey: string;
  /** TEXT, LARGE_TEXT, NUMERICAL, PHONE, MONETORY, CHECKBOX, SINGLE_OPTIONS, MULTIPLE_OPTIONS, DATE, ... */
  dataType: string;
}

/**
 * The state of a GHL connection. `needs_authorization` means the refresh
 * token was rejected and only a new install or OAuth flow can fix it;
 * `paused` means GHL refused a refresh for another reason (for example
 * "Location is not active") and the connection is probed again later.
 */
export type ConnectionStatus =
  "active" | "needs_authorization" | "paused" | "uninstalled";

/** OAuth credentials of one GHL location or agency (company). */
export interface Connection {
  kind: "location" | "company";
  /** The location id or the company id. */
  id: string;
  /** The agency the connection belongs to, when known. */
  companyId: string | null;
  /**
   * The access and refresh tokens, sealed (encrypted) by the caller. The
   * store keeps this string as given and never reads inside it.
   */
  sealedTokens: string | null;
  /** Epoch milliseconds when the access token expires. */
  expiresAt: number | null;
  status: ConnectionStatus;
  /** What the operator is shown for a status other than active. */
  statusMessage: string | null;
  /** Epoch milliseconds of the next refresh attempt of a paused connection. */
  nextProbeAt: number | null;
  /** Starts at 1 and grows by one on every write; the compare-and-swap value. */
  version: number;
  updatedAt: number;
}

/** The fields of a connection that a write sets. */
export type ConnectionWrite = Omit<Connection, "version" | "updatedAt">;

/** An INSTALL webhook kept until the OAuth callback brings a token for it. */
export interface PendingInstall {
  /** The location id, or null for an agency-wide install. */
  locationId: string | null;
  companyId: string | null;
  receivedAt: number;
}

/**
 * GHL OAuth connections, shared by every process of the service. Refresh
 * tokens are single-use, so writes are guarded by a version number and
 * refreshes by a named lock with an expiry.
 */
export interface ConnectionStore {
  getConnection(
    kind: Connection["kind"],
    id: string,
  ): Promise<Connection | null>;
  listConnections(): Promise<Connection[]>;
  /**
   * Writes the connection when its stored version equals `expectedVersion`
   * (0 for "does not exist yet"). Returns the stored connection with its new
   * version, or null when another writer got there first.
   */
  saveConnection(
    connection: ConnectionWrite,
    expectedVersion: number,
  ): Promise<Connection | null>;
  deleteConnection(kind: Connection["kind"], id: string): Promise<void>;
  /**
   * Takes the lock `name` for `owner` until `ttlMs` from now. Returns false
   * while another owner holds an unexpired lock. The expiry frees a lock
   * whose holder died.
   */
  tryLock(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Frees the lock when `owner` still holds it. */
  unlock(name: string, owner: string): Promise<void>;
  /** Keeps an INSTALL webhook; a repeat for the same location and company is stored once. */
  addPendingInstall(install: PendingInstall): Promise<void>;
  listPendingInstalls(): Promise<PendingInstall[]>;
  /** Removes the pending installs of a location, or of an agency-wide install when `locationId` is null. */
  removePendingInstall(
    locationId: string | null,
    companyId: string | null,
  ): Promise<void>;
}

/** The reason a first-sync match was not linked on its own and waits for a person. */
export type ReviewReason =
  /** Several Coopel contacts share the GHL contact's email. */
  | "several_email_matches"
  /** Several GHL contacts of the location share this email. */
  | "email_shared_in_ghl"
  /** Several Coopel contacts share the GHL contact's phone. */
  | "several_phone_matches"
  /** Several GHL contacts of the location share this phone. */
  | "phone_shared_in_ghl"
  /** The email matches, but the name and the phone both differ. */
  | "email_match_name_and_phone_differ"
  /** The phone matches, but the emails of both sides differ. */
  | "phone_match_email_differs"
  /** The only candidate is already linked to another GHL contact. */
  | "candidate_linked_elsewhere";

/** A person's short description of a contact, shown in the review list. */
export interface ContactSummary {
  id: string;
  name: string | null;
  email: string | null;
  phone: string | null;
}

/** A GHL contact whose match to Coopel was not one-to-one, kept until a person decides. */
export interface ReviewItem {
  id: string;
  ghlLocationId: string;
  ghl: ContactSummary;
  reason: ReviewReason;
  /** The Coopel contacts it could be; empty when the doubt is on the GHL side only. */
  candidates: ContactSummary[];
  status: "open" | "accepted" | "rejected";
  /** The Coopel id linked on accept, or created on reject; null otherwise. */
  resolvedCoopelId: string | null;
  createdAt: number;
  resolvedAt: number | null;
}

/** A review entry to add; a repeat for the same GHL contact updates the open one. */
export type NewReviewItem = Pick<
  ReviewItem,
  "ghlLocationId" | "ghl" | "reason" | "candidates"
>;

/** A GHL contact that a reconcile run read, kept in the store until the run reads its Coopel side. */
export interface SeenContact {
  ghlId: string;
  /** The Coopel id of the contact's live link; null when it has none. */
  coopelId: string | null;
  /** The GHL record as JSON text. */
  record: string;
}

/**
 * State of the first sync, reconcile and polling repair: named cursors,
 * the review list, direct link writes and the marks of one reconcile run.
 */
export interface SyncState {
  /** The saved value of cursor `name`, or null when none is saved. */
  getCursor(name: string): Promise<string | null>;
  /** Saves cursor `name`; null deletes it. */
  saveCursor(name: string, value: string | null): Promise<void>;
  /** Writes links and, in the same transaction, saves cursor `name` when given. */
  saveLinks(
    links: Link[],
    cursor?: { name: string; value: string | null },
  ): Promise<void>;
  /**
   * Replaces the link of `fromGhlId` with `link` (which names another GHL
   * record) in one transaction, so that the Coopel record is never linked
   * twice. Used when GHL merged a contact into another.
   */
  moveLink(fromGhlId: string, link: Link): Promise<void>;
  /** The links of these GHL ids that exist. */
  getLinks(
    entity: Link["entity"],
    ghlLocationId: string,
    ghlIds: string[],
  ): Promise<Link[]>;
  /** The links that point at these Coopel ids, of any location. */
  getLinksByCoopelIds(
    entity: Link["entity"],
    coopelAccountId: string,
    coopelIds: string[],
  ): Promise<Link[]>;
  /** Up to `limit` links of a location with a GHL id after `afterGhlId`, in GHL id order. */
  listLinksAfter(
    entity: Link["entity"],
    ghlLocationId: string,
    afterGhlId: string | null,
    limit: number,
  ): Promise<Link[]>;
  /** Adds review items and returns their ids; an open item of the same GHL contact is updated and keeps its id. */
  addReviewItems(items: NewReviewItem[]): Promise<string[]>;
  /** Review items, oldest first; only those with `status` when given. */
  listReviewItems(status?: ReviewItem["status"]): Promise<ReviewItem[]>;
  getReviewItem(id: string): Promise<ReviewItem | null>;
  /** True when the GHL contact has an open review item. */
  hasOpenReview(ghlLocationId: string, ghlId: string): Promise<boolean>;
  /** Closes an open item; returns false when it is not open. */
  resolveReviewItem(
    id: string,
    status: "accepted" | "rejected",
    coopelId: string | null,
  ): Promise<boolean>;
  /** Records that reconcile run `runId` saw these GHL ids. */
  markSeen(runId: string, ghlIds: string[]): Promise<void>;
  /**
   * Records that reconcile run `runId` saw these GHL contacts and keeps
   * each one's record until `takeSeenByCoopelIds` or `listUnmatchedSeen`
   * returns it. A contact kept twice keeps its first record.
   */
  keepSeen(runId: string, contacts: SeenContact[]): Promise<void>;
  /** Returns the kept contacts of run `runId` linked to these Coopel ids, and marks them matched. */
  takeSeenByCoopelIds(
    runId: string,
    coopelIds: string[],
  ): Promise<SeenContact[]>;
  /**
   * Up to `limit` kept contacts of run `runId` not matched yet, with a GHL
   * id after `afterGhlId`, in GHL id order: those with a Coopel id when
   * `linked` is true, the others when it is false.
   */
  listUnmatchedSeen(
    runId: string,
    linked: boolean,
    afterGhlId: string | null,
    limit: number,
  ): Promise<SeenContact[]>;
  /**
   * Up to `limit` live links (not tombstones) of a location that run `runId`
   * did not see, with a GHL id after `afterGhlId`, in GHL id order.
   */
  listUnseenLinks(
    runId: string,
    ghlLocationId: string,
    afterGhlId: string | null,
    limit: number,
  ): Promise<Link[]>;
  /** Deletes the marks of a reconcile run. */
  clearSeen(runId: string): Promise<void>;
}
