import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  preHandlerAsyncHookHandler,
} from "fastify";
import {
  USE_LABELS,
  catalog,
  searchCatalog,
  type CatalogEntry,
} from "../catalog/catalog.js";
import type { Config } from "../config/schema.js";
import type {
  CoopelLookup,
  EventFilter,
  EventRecord,
  JobState,
  Link,
  Outcome,
  Queue,
  Store,
} from "../engine/ports.js";
import { ContactMapping } from "../mapping/contact-mapping.js";
import {
  connectionsOf,
  readOverview,
  type LocationStateOf,
} from "../operator/overview.js";
import {
  eventFromWebhook,
  previewEvent,
  type Plan,
} from "../operator/preview.js";
import { html, type SafeHtml } from "./html.js";
import { registerReviewPage, type ReviewPageOptions } from "./review-page.js";
import { csrfField, page, when, type Section } from "./layout.js";
import {
  apiUsageSection,
  contactChartSection,
  pauseControls,
  startOfUtcDay,
  type LocationPauseControl,
} from "./operator-sections.js";

/** Reads contacts from both systems for the contact page. */
export interface ContactReader {
  /** The GHL contact, or null when GHL does not have it. */
  ghl(
    locationId: string,
    contactId: string,
  ): Promise<Record<string, unknown> | null>;
  /** The Coopel contact, or null when Coopel does not have it. */
  coopel(coopelId: string): Promise<Record<string, unknown> | null>;
  /** Coopel contacts matching an email, phone or external id. */
  findCoopel(
    lookup: CoopelLookup,
  ): Promise<{ id: string; record: Record<string, unknown> }[]>;
}

export interface DashboardOptions extends ReviewPageOptions {
  /** Runs before every dashboard route; answers the request itself when the caller is not an admin. */
  authenticate: preHandlerAsyncHookHandler;
  /** The CSRF token forms and htmx requests must send for this request; null when none is needed. */
  csrfToken?: (request: FastifyRequest) => string | null;
  config: Config;
  store: Store;
  queue: Queue;
  contacts: ContactReader;
  /**
   * Makes dead letters pending again and returns how many; `all` replays
   * every one. Without it the dead-letter page lists but cannot replay.
   */
  replay?: (ids: string[] | "all") => Promise<number>;
  /** The state of a GHL location as the running service sees it. */
  locationState?: LocationStateOf;
  /** Pauses and resumes locations; without it the Connections page shows no pause buttons. */
  locationPauses?: LocationPauseControl;
  /** Folder of the official GHL webhook examples offered in the mapping preview. */
  fixturesDir: string;
}

const require = createRequire(import.meta.url);
const WEB_DIR = new URL("../../web/", import.meta.url);

const ASSETS: Record<string, { file: string; type: string }> = {
  "htmx.min.js": {
    file: require.resolve("htmx.org/dist/htmx.min.js"),
    type: "text/javascript; charset=utf-8",
  },
  "uPlot.iife.min.js": {
    file: path.join(
      path.dirname(require.resolve("uplot")),
      "uPlot.iife.min.js",
    ),
    type: "text/javascript; charset=utf-8",
  },
  "uPlot.min.css": {
    file: path.join(path.dirname(require.resolve("uplot")), "uPlot.min.css"),
    type: "text/css; charset=utf-8",
  },
  "app.css": {
    file: new URL("app.css", WEB_DIR).pathname,
    type: "text/css; charset=utf-8",
  },
  "favicon.svg": {
    file: new URL("favicon.svg", WEB_DIR).pathname,
    type: "image/svg+xml",
  },
  "login.js": {
    file: new URL("login.js", WEB_DIR).pathname,
    type: "text/javascript; charset=utf-8",
  },
  "overview-chart.js": {
    file: new URL("overview-chart.js", WEB_DIR).pathname,
    type: "text/javascript; charset=utf-8",
  },
};

const STATES: JobState[] = ["pending", "running", "done", "dead"];
const OUTCOMES: Outcome[] = [
  "synced",
  "skipped",
  "ignored",
  "unsupported",
  "failed",
];
const SINCE: Record<string, number> = {
  "1h": 3_600_000,
  "24h": 86_400_000,
  "7d": 7 * 86_400_000,
};
const SECRET_KEY = /token|secret|password|authorization|api[_-]?key/i;

/** Replaces the values of keys that name secrets, at any depth. */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value))
      out[key] = SECRET_KEY.test(key) ? "[redacted]" : redact(inner);
    return out;
  }
  return value;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function show(value: unknown): string {
  if (value === undefined) return "–";
  if (value === null) return "null";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function outcomeBadge(e: Pick<EventRecord, "state" | "outcome">): SafeHtml {
  const label = e.state === "dead" ? "dead letter" : (e.outcome ?? e.state);
  return html`<span class="badge badge-${label.replace(" ", "-")}"
    >${label}</span
  >`;
}

/**
 * The operator dashboard under /ui: server-rendered pages that htmx
 * refreshes in place. Every route runs `authenticate` first.
 */
export async function dashboardPlugin(
  app: FastifyInstance,
  options: DashboardOptions,
): Promise<void> {
  if (!app.hasContentTypeParser("application/x-www-form-urlencoded")) {
    const { default: formbody } = await import("@fastify/formbody");
    await app.register(formbody);
  }
  app.get<{ Params: { name: string } }>("/assets/:name", (request, reply) => {
    const asset = ASSETS[request.params.name];
    if (!asset) return reply.code(404).send({ error: "not_found" });
    return reply
      .type(asset.type)
      .header("cache-control", "public, max-age=3600")
      .send(readFileSync(asset.file));
  });

  app.get("/login", (_request, reply) =>
    reply.type("text/html; charset=utf-8").send(loginPage().value),
  );

  await app.register((inner, _options, done) => {
    protectedRoutes(inner, options);
    done();
  });
}

function protectedRoutes(
  app: FastifyInstance,
  options: DashboardOptions,
): void {
  const { config, store, queue } = options;
  app.addHook("preHandler", options.authenticate);
  const csrf = (request: FastifyRequest) =>
    options.csrfToken?.(request) ?? null;
  const send = (
    reply: FastifyReply,
    request: FastifyRequest,
    section: Section,
    title: string,
    body: SafeHtml,
    extra: { scripts?: string[]; styles?: string[] } = {},
  ) =>
    reply
      .type("text/html; charset=utf-8")
      .header("cache-control", "no-store")
      .send(
        page({ title, section, body, csrfToken: csrf(request), ...extra })
          .value,
      );

  registerReviewPage(app, options, send, csrf);

  // Overview
  app.get("/api/overview", () =>
    readOverview(config, store, queue, Date.now(), options.locationState),
  );
  app.get("/", async (request, reply) => {
    const o = await readOverview(
      config,
      store,
      queue,
      Date.now(),
      options.locationState,
    );
    const s = o.last24h;
    const links = await Promise.all(
      config.ghl.locations.map(
        async (l) =>
          [
            l.id,
            (await store.listLinks("contact", l.id)).filter(
              (k) => k.coopelId !== null && k.deletedAt === null,
            ).length,
          ] as const,
      ),
    );
    const linked = new Map(links);
    const now = Date.now();
    const usage = await store.apiUsage(startOfUtcDay(now));
    const countsFrom = now - 7 * 86_400_000;
    const counts = await store.contactCounts(countsFrom);
    const perMinute = (s.received / (24 * 60)).toFixed(2);
    const chartData = JSON.stringify({
      t: o.series.map((b) => b.start / 1000),
      received: o.series.map((b) => b.received / 15),
      failed: o.series.map((b) => b.failed),
    });
    const body = html` <section aria-labelledby="figures-h">
        <h2 id="figures-h">Last 24 hours</h2>
        <dl class="figures">
          <div>
            <dt>Received</dt>
            <dd data-figure="received">${s.received}</dd>
          </div>
          <div>
            <dt>Synced</dt>
            <dd data-figure="synced">${s.synced}</dd>
          </div>
          <div>
            <dt>Skipped</dt>
            <dd data-figure="skipped">${s.skipped}</dd>
          </div>
          <div>
            <dt>Unsupported</dt>
            <dd data-figure="unsupported">${s.unsupported}</dd>
          </div>
          <div>
            <dt>Failed</dt>
            <dd data-figure="failed">${s.failed}</dd>
          </div>
          <div>
            <dt>Events per minute</dt>
            <dd data-figure="per-minute">${perMinute}</dd>
          </div>
          <div>
            <dt>Inbox depth</dt>
            <dd data-figure="inbox-depth">${o.inboxDepth}</dd>
          </div>
          <div>
            <dt>Lag</dt>
            <dd data-figure="lag">${o.lagSeconds.toFixed(1)} s</dd>
          </div>
          <div>
            <dt>Dead letters</dt>
            <dd data-figure="dead-letters">
              <a href="/ui/dead-letters">${o.deadLetters}</a>
            </dd>
          </div>
          <div>
            <dt>Webhook to write p50 / p99</dt>
            <dd data-figure="latency">
              ${s.writeLatencyP50Ms ?? "–"} / ${s.writeLatencyP99Ms ?? "–"} ms
            </dd>
          </div>
        </dl>
      </section>
      <section aria-labelledby="chart-h">
        <h2 id="chart-h">Events per minute and failures, per 15 minutes</h2>
        <figure>
          <div
            id="overview-chart"
            class="chart"
            data-series="${chartData}"
            role="img"
            aria-label="Chart of events per minute and failures over the last 24 hours: ${s.received} received, ${s.failed} failed"
          ></div>
          <figcaption>
            Bars of 15 minutes, oldest on the left. ${s.received} events
            received, ${s.failed} failed.
          </figcaption>
        </figure>
      </section>
      ${contactChartSection(counts, countsFrom, now)}
      ${apiUsageSection(config, usage)}
      <section aria-labelledby="conn-h">
        <h2 id="conn-h">Connections</h2>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">System</th>
                <th scope="col">Account</th>
                <th scope="col">State</th>
                <th scope="col">Linked contacts</th>
              </tr>
            </thead>
            <tbody>
              ${o.connections.map(
                (c) =>
                  html`<tr>
                    <td>
                      ${c.system === "ghl" ? "GHL location" : "Coopel account"}
                    </td>
                    <td>
                      ${c.name}${c.name !== c.id ? html` <code>${c.id}</code>` : ""}
                    </td>
                    <td>
                      <span class="badge badge-${c.state}">${c.state}</span
                      >${c.reason ? html` <span class="muted">${c.reason}</span>` : ""}
                    </td>
                    <td>
                      ${c.system === "ghl" ? (linked.get(c.id) ?? 0) : [...linked.values()].reduce((a, b) => a + b, 0)}
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>
        </div>
        <p class="muted">
          Figures as of ${when(o.generatedAt)}. <a href="/ui">Refresh</a>
        </p>
      </section>`;
    return send(reply, request, "overview", "Overview", body, {
      scripts: ["uPlot.iife.min.js", "overview-chart.js"],
      styles: ["uPlot.min.css"],
    });
  });

  // Events
  type EventsQuery = {
    type?: string;
    status?: string;
    contact?: string;
    since?: string;
    before?: string;
  };
  const eventFilter = (
    q: EventsQuery,
    base: Partial<EventFilter> = {},
  ): EventFilter => {
    const filter: EventFilter = { limit: 50, ...base };
    if (text(q.type)) filter.type = q.type;
    if (q.status && (STATES as string[]).includes(q.status))
      filter.state = q.status as JobState;
    else if (q.status && (OUTCOMES as string[]).includes(q.status))
      filter.outcome = q.status as Outcome;
    if (text(q.contact)) filter.contains = q.contact!.trim();
    if (q.since && SINCE[q.since]) filter.since = Date.now() - SINCE[q.since]!;
    if (q.before && /^\d+$/.test(q.before)) filter.beforeId = q.before;
    return filter;
  };
  const eventRows = (events: EventRecord[], selectable: boolean) =>
    html` ${events.length === 0 ? html`<p class="empty">No events match.</p>` : ""}
      <div class="table-wrap">
        <table class="events">
          <thead>
            <tr>
              ${selectable ? html`<th scope="col"><span class="sr-only">Select</span></th>` : ""}
              <th scope="col">Id</th>
              <th scope="col">Received</th>
              <th scope="col">Type</th>
              <th scope="col">Outcome</th>
              <th scope="col">Reason or error</th>
              <th scope="col">Contact key</th>
              <th scope="col">Attempts</th>
            </tr>
          </thead>
          <tbody>
            ${events.map(
              (e) =>
                html`<tr data-event-id="${e.id}">
                  ${selectable ? html`<td><input type="checkbox" name="ids" value="${e.id}" id="select-${e.id}" aria-label="Select event ${e.id}" /></td>` : ""}
                  <td><a href="/ui/events/${e.id}">${e.id}</a></td>
                  <td>${when(e.receivedAt)}</td>
                  <td>${e.type}</td>
                  <td>${outcomeBadge(e)}</td>
                  <td class="wrap">${e.reason ?? e.lastError ?? ""}</td>
                  <td><code>${e.orderingKey}</code></td>
                  <td>${e.attempts}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>`;

  const filterForm = (action: string, q: EventsQuery, statusChoices: boolean) =>
    html` <form
      class="filters"
      method="get"
      action="${action}"
      role="search"
      hx-get="${action}"
      hx-target="#results"
      hx-select="#results"
      hx-swap="outerHTML"
      hx-push-url="true"
      hx-trigger="change, input delay:400ms from:input[type=search], submit"
      hx-sync="this:replace"
    >
      <label
        >Type
        <input
          type="text"
          name="type"
          value="${q.type ?? ""}"
          placeholder="ContactUpdate"
          list="event-types"
      /></label>
      <datalist id="event-types">
        ${catalog.entries.filter((e) => e.kind === "trigger").map((e) => html`<option value="${e.name}"></option>`)}
      </datalist>
      ${
        statusChoices
          ? html`<label
              >Outcome
              <select name="status">
                <option value="">any</option>
                ${[...OUTCOMES, "pending", "dead"].map((v) => html`<option value="${v}" ${q.status === v ? html` selected` : ""}>${v === "dead" ? "dead letter" : v}</option>`)}
              </select></label
            >`
          : ""
      }
      <label
        >Contact
        <input
          type="search"
          name="contact"
          value="${q.contact ?? ""}"
          placeholder="GHL contact id"
      /></label>
      <label
        >Time
        <select name="since">
          <option value="">all</option>
          ${Object.keys(SINCE).map((k) => html`<option value="${k}" ${q.since === k ? html` selected` : ""}>last ${k}</option>`)}
        </select></label
      >
      <button type="submit">Filter</button>
    </form>`;

  app.get<{ Querystring: EventsQuery }>("/events", async (request, reply) => {
    const q = request.query;
    const events = await store.listEvents(eventFilter(q));
    const last = events.at(-1);
    const more =
      events.length === 50 && last
        ? html`<p>
            <a
              href="/ui/events?${new URLSearchParams({ ...q, before: last.id }).toString()}"
              >Older events</a
            >
          </p>`
        : "";
    const body = html`${filterForm("/ui/events", q, true)}
      <div id="results">${eventRows(events, false)}${more}</div>`;
    return send(reply, request, "events", "Events", body);
  });

  app.get<{ Params: { id: string } }>("/events/:id", async (request, reply) => {
    const event = await store.getEvent(request.params.id);
    if (!event)
      return send(
        reply.code(404),
        request,
        "events",
        "Event not found",
        html`<p>
          No event has id ${request.params.id}.
          <a href="/ui/events">Back to events</a>
        </p>`,
      );
    let plan: Plan | null = null;
    let planError: string | null = null;
    try {
      plan = await previewEvent(config, store, {
        source: event.source,
        accountId: event.accountId,
        type: event.type,
        orderingKey: event.orderingKey,
        deliveryId: event.deliveryId,
        receivedAt: event.receivedAt,
        payload: event.payload,
      });
    } catch (error) {
      planError = (error as Error).message;
    }
    const contactId =
      text(event.payload.contactId) ??
      (event.type.startsWith("Contact") ? text(event.payload.id) : undefined);
    const body = html` <dl class="facts">
        <div>
          <dt>Type</dt>
          <dd>${event.type}</dd>
        </div>
        <div>
          <dt>Outcome</dt>
          <dd>${outcomeBadge(event)} ${event.reason ?? ""}</dd>
        </div>
        <div>
          <dt>Received</dt>
          <dd>${when(event.receivedAt)}</dd>
        </div>
        <div>
          <dt>Finished</dt>
          <dd>${when(event.finishedAt)}</dd>
        </div>
        <div>
          <dt>Attempts</dt>
          <dd>
            ${event.attempts}${event.attempts > 1 ? ` (${event.attempts - 1} retried)` : ""}
          </dd>
        </div>
        <div>
          <dt>Account</dt>
          <dd><code>${event.accountId}</code></dd>
        </div>
        <div>
          <dt>Delivery id</dt>
          <dd><code>${event.deliveryId ?? "–"}</code></dd>
        </div>
        ${
          contactId
            ? html`<div>
                <dt>Contact</dt>
                <dd>
                  <a href="/ui/contacts/${event.accountId}/${contactId}"
                    >${contactId}</a
                  >
                </dd>
              </div>`
            : ""
        }
      </dl>
      ${event.lastError ? html`<p class="error" role="status"><strong>Last error (${event.errorClass ?? "unknown"}):</strong> ${event.lastError}</p>` : ""}
      <h2>Requests sent</h2>
      ${
        event.requests.length === 0
          ? html`<p class="empty">No requests were sent.</p>`
          : html`<div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">API</th>
                    <th scope="col">Method</th>
                    <th scope="col">Path</th>
                    <th scope="col">Status</th>
                    <th scope="col">Duration</th>
                  </tr>
                </thead>
                <tbody>
                  ${event.requests.map(
                    (r) =>
                      html`<tr>
                        <td>${r.api ?? "–"}</td>
                        <td>${r.method}</td>
                        <td><code>${r.path}</code></td>
                        <td>${r.status ?? "no answer"}</td>
                        <td>${r.durationMs} ms</td>
                      </tr>`,
                  )}
                </tbody>
              </table>
            </div>`
      }
      ${
        event.warnings.length > 0
          ? html`<h2>Warnings</h2>
              <ul>
                ${event.warnings.map((w) => html`<li>${w}</li>`)}
              </ul>`
          : ""
      }
      <h2>Plan if it ran now</h2>
      ${plan ? planView(plan) : html`<p class="error">The plan could not be computed: ${planError}</p>`}
      <h2>Payload</h2>
      <pre class="payload" tabindex="0">
${JSON.stringify(redact(event.payload), null, 2)}</pre>`;
    return send(reply, request, "events", `Event ${event.id}`, body);
  });

  // Dead letters
  app.get<{ Querystring: EventsQuery & { replayed?: string } }>(
    "/dead-letters",
    async (request, reply) => {
      const q = request.query;
      const events = await store.listEvents(
        eventFilter(q, { state: "dead", limit: 200 }),
      );
      const replayed =
        q.replayed && /^\d+$/.test(q.replayed)
          ? html`<p class="notice" role="status">
              Replayed ${q.replayed} dead
              letter${q.replayed === "1" ? "" : "s"}; they run again now. Their
              outcome shows under <a href="/ui/events">Events</a>.
            </p>`
          : "";
      const canReplay = options.replay !== undefined;
      const body = html`${replayed}${filterForm("/ui/dead-letters", q, false)}
        <div id="results">
          <form
            method="post"
            action="/ui/dead-letters/replay"
            hx-post="/ui/dead-letters/replay"
            hx-target="#results"
            hx-select="#results"
            hx-swap="outerHTML"
            hx-confirm="Replay the selected dead letters? Each runs again as if it had just arrived."
          >
            ${csrfField(csrf(request))}
            ${eventRows(events, canReplay && events.length > 0)}
            ${
              canReplay && events.length > 0
                ? html`<div class="actions">
                    <button type="submit" name="scope" value="selected">
                      Replay selected
                    </button>
                    <button
                      type="submit"
                      name="scope"
                      value="all"
                      hx-confirm="Replay all dead letters? Each runs again as if it had just arrived."
                    >
                      Replay all
                    </button>
                  </div>`
                : ""
            }
            ${canReplay ? "" : html`<p class="muted">Replay is not available in this process.</p>`}
          </form>
        </div>`;
      return send(reply, request, "dead-letters", "Dead letters", body);
    },
  );

  app.post<{ Body: { ids?: string | string[]; scope?: string } }>(
    "/dead-letters/replay",
    async (request, reply) => {
      if (!options.replay)
        return reply.code(501).send({ error: "replay_unavailable" });
      const body = request.body ?? {};
      const ids = (
        Array.isArray(body.ids) ? body.ids : body.ids ? [body.ids] : []
      ).filter((id) => /^\d+$/.test(id));
      if (body.scope !== "all" && ids.length === 0) {
        return send(
          reply.code(400),
          request,
          "dead-letters",
          "Dead letters",
          html`<div id="results">
            <p class="error" role="alert">
              Select at least one dead letter to replay, or choose Replay all.
            </p>
            <p><a href="/ui/dead-letters">Back to dead letters</a></p>
          </div>`,
        );
      }
      const count = await options.replay(body.scope === "all" ? "all" : ids);
      return reply.redirect(`/ui/dead-letters?replayed=${count}`, 303);
    },
  );

  // Contacts
  app.get<{ Querystring: { q?: string } }>(
    "/contacts",
    async (request, reply) => {
      const q = (request.query.q ?? "").trim();
      const found: {
        locationId: string;
        ghlId: string;
        coopelId: string | null;
        label: string;
      }[] = [];
      let searchError: string | null = null;
      if (q !== "") {
        try {
          for (const location of config.ghl.locations) {
            const direct = await store.getLink("contact", location.id, q);
            if (direct)
              found.push({
                locationId: location.id,
                ghlId: direct.ghlId,
                coopelId: direct.coopelId,
                label: "GHL id",
              });
            const links = await store.listLinks("contact", location.id);
            for (const link of links)
              if (link.coopelId === q)
                found.push({
                  locationId: location.id,
                  ghlId: link.ghlId,
                  coopelId: link.coopelId,
                  label: "Coopel id",
                });
            if (q.includes("@") || /^\+?[\d\s()-]{6,}$/.test(q)) {
              const matches = await options.contacts.findCoopel(
                q.includes("@")
                  ? { email: q.toLowerCase() }
                  : { phone: q.replace(/[\s()-]/g, "") },
              );
              for (const match of matches) {
                const link = links.find((l) => l.coopelId === match.id);
                if (link)
                  found.push({
                    locationId: location.id,
                    ghlId: link.ghlId,
                    coopelId: match.id,
                    label: q.includes("@") ? "email" : "phone",
                  });
              }
            }
            if (!direct && !found.some((f) => f.ghlId === q)) {
              const ghl = await options.contacts
                .ghl(location.id, q)
                .catch(() => null);
              if (ghl)
                found.push({
                  locationId: location.id,
                  ghlId: q,
                  coopelId: null,
                  label: "GHL id, not linked",
                });
            }
          }
        } catch (error) {
          searchError = (error as Error).message;
        }
      }
      const body = html` <form
          class="filters"
          method="get"
          action="/ui/contacts"
          role="search"
        >
          <label
            >Search
            <input
              type="search"
              name="q"
              value="${q}"
              placeholder="email, phone, GHL id or Coopel id"
              autocomplete="off"
          /></label>
          <button type="submit">Search</button>
        </form>
        ${searchError ? html`<p class="error" role="alert">Search failed: ${searchError}</p>` : ""}
        ${q !== "" && found.length === 0 && !searchError ? html`<p class="empty">No contact matches ${q}.</p>` : ""}
        ${
          found.length > 0
            ? html`<ul class="results">
                ${found.map((f) => html`<li><a href="/ui/contacts/${f.locationId}/${f.ghlId}">GHL ${f.ghlId}</a> ${f.coopelId ? html`↔ Coopel <code>${f.coopelId}</code>` : ""} <span class="muted">(matched by ${f.label})</span></li>`)}
              </ul>`
            : ""
        }`;
      return send(reply, request, "contacts", "Contacts", body);
    },
  );

  app.get<{ Params: { location: string; id: string } }>(
    "/contacts/:location/:id",
    async (request, reply) => {
      const { location, id } = request.params;
      const link: Link | null = await store.getLink("contact", location, id);
      const problems: string[] = [];
      const ghl = await options.contacts
        .ghl(location, id)
        .catch((error: Error) => {
          problems.push(`GHL: ${error.message}`);
          return null;
        });
      const coopel = link?.coopelId
        ? await options.contacts.coopel(link.coopelId).catch((error: Error) => {
            problems.push(`Coopel: ${error.message}`);
            return null;
          })
        : null;
      const mapping = new ContactMapping(config.mapping);
      const mapped = ghl ? await mapping.map(ghl) : null;
      const fieldRows = mapping
        .rules()
        .flatMap(({ from, to }) =>
          to.map((target) => ({ source: from.join(" + "), from, target })),
        )
        .map(({ source, from, target }) => {
          const ghlValue = ghl
            ? from.length === 1
              ? ghl[from[0]!]
              : from.map((key) => ghl[key])
            : undefined;
          const expected = mapped ? mapped.fields[target] : undefined;
          const coopelValue = coopel ? coopel[target] : undefined;
          const differs =
            ghl !== null &&
            coopel !== null &&
            !sameValue(expected, coopelValue);
          return { source, target, ghlValue, expected, coopelValue, differs };
        });
      const differing = fieldRows.filter((r) => r.differs).length;
      const timeline = await store.listEvents({ contains: id, limit: 100 });
      const tags = (record: Record<string, unknown> | null) =>
        Array.isArray(record?.tags)
          ? (record.tags as unknown[]).map(String)
          : [];
      const body = html` ${problems.map((p) => html`<p class="error" role="alert">${p}</p>`)}
        <dl class="facts">
          <div>
            <dt>GHL contact</dt>
            <dd>
              <code>${id}</code> in location
              <code>${location}</code>${ghl ? "" : " (not found in GHL)"}
            </dd>
          </div>
          <div>
            <dt>Coopel contact</dt>
            <dd>
              ${link?.coopelId ? html`<code>${link.coopelId}</code>${coopel ? "" : " (not found in Coopel)"}` : "not linked"}
            </dd>
          </div>
          <div>
            <dt>Link updated</dt>
            <dd>
              ${when(link?.updatedAt ?? null)}${link?.deletedAt ? html` · deleted in GHL ${when(link.deletedAt)}` : ""}
            </dd>
          </div>
          <div>
            <dt>Fields that differ</dt>
            <dd data-figure="differing">${differing}</dd>
          </div>
        </dl>
        <h2>Fields side by side</h2>
        <div class="table-wrap">
          <table class="compare">
            <caption class="sr-only">
              Each mapped field in GHL, what the mapping makes of it, and what
              Coopel holds. Rows that differ are marked.
            </caption>
            <thead>
              <tr>
                <th scope="col">GHL field</th>
                <th scope="col">GHL value</th>
                <th scope="col">Coopel field</th>
                <th scope="col">Expected in Coopel</th>
                <th scope="col">Coopel value</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              ${fieldRows.map(
                (r) =>
                  html`<tr
                    class="${r.differs ? "differs" : ""}"
                    data-field="${r.target}"
                  >
                    <td>${r.source}</td>
                    <td>${show(r.ghlValue)}</td>
                    <td>${r.target}</td>
                    <td>${show(r.expected)}</td>
                    <td>${show(r.coopelValue)}</td>
                    <td>
                      ${r.differs ? html`<strong class="diff-mark">differs</strong>` : "same"}
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>
        </div>
        <h2>Tags</h2>
        <div class="side-by-side">
          <div>
            <h3>GHL</h3>
            ${
              tags(ghl).length
                ? html`<ul class="tags">
                    ${tags(ghl).map((t) => html`<li>${t}</li>`)}
                  </ul>`
                : html`<p class="empty">No tags.</p>`
            }
          </div>
          <div>
            <h3>Coopel</h3>
            ${
              tags(coopel).length
                ? html`<ul class="tags">
                    ${tags(coopel).map((t) => html`<li>${t}</li>`)}
                  </ul>`
                : html`<p class="empty">No tags.</p>`
            }
          </div>
        </div>
        <h2>Timeline</h2>
        ${eventRows(timeline, false)}`;
      return send(
        reply,
        request,
        "contacts",
        `Contact ${text(ghl?.firstName) ?? ""} ${text(ghl?.lastName) ?? ""}`
          .replace(/\s+/g, " ")
          .trim(),
        body,
      );
    },
  );

  // Mapping
  const examples = readdirSync(options.fixturesDir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.slice(0, -5))
    .sort();
  app.get("/mapping", async (request, reply) => {
    const mapping = new ContactMapping(config.mapping);
    const body = html` <p>
        Contacts sync ${config.sync.contacts.enabled ? "on" : "off"}, direction
        ${config.sync.contacts.direction}, deletes:
        ${config.sync.contacts.delete.policy}. Empty values
        ${config.mapping.contact.ignore_empty ? "are left out" : "clear the Coopel field"}.
      </p>
      <h2>Fields in force</h2>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">GHL field</th>
              <th scope="col">Coopel field</th>
              <th scope="col">Transforms</th>
            </tr>
          </thead>
          <tbody>
            ${mapping.rules().map(
              (r) =>
                html`<tr>
                  <td>${r.from.join(" + ")}</td>
                  <td>${r.to.join(", ")}</td>
                  <td>${r.transforms.join(", ") || "–"}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
      <h2>Preview</h2>
      <form
        method="post"
        action="/ui/mapping/preview"
        hx-post="/ui/mapping/preview"
        hx-target="#plan"
        hx-select="#plan"
        hx-swap="outerHTML"
      >
        ${csrfField(csrf(request))}
        <label
          >Official example
          <select name="example">
            <option value="">none: use the text below</option>
            ${examples.map((e) => html`<option value="${e}">${e}</option>`)}
          </select></label
        >
        <label for="event-text">Event JSON</label>
        <textarea
          id="event-text"
          name="event"
          rows="10"
          spellcheck="false"
          placeholder='{"type":"ContactUpdate","locationId":"…","id":"…"}'
        ></textarea>
        <button type="submit">Preview the plan</button>
      </form>
      <div id="plan"></div>`;
    return send(reply, request, "mapping", "Mapping", body);
  });

  app.post<{ Body: { example?: string; event?: string } }>(
    "/mapping/preview",
    async (request, reply) => {
      const body = request.body ?? {};
      let payload: Record<string, unknown> | null = null;
      let problem: string | null = null;
      if (text(body.example)) {
        if (!examples.includes(body.example!))
          problem = `There is no official example named ${body.example}.`;
        else
          payload = JSON.parse(
            readFileSync(
              path.join(options.fixturesDir, `${body.example}.json`),
              "utf8",
            ),
          ) as Record<string, unknown>;
      } else if (text(body.event)) {
        try {
          const parsed: unknown = JSON.parse(body.event!);
          if (
            parsed === null ||
            typeof parsed !== "object" ||
            Array.isArray(parsed)
          )
            problem =
              "The event must be a JSON object, such as an official webhook body.";
          else payload = parsed as Record<string, unknown>;
        } catch (error) {
          problem = `The event is not valid JSON: ${(error as Error).message}`;
        }
      } else problem = "Choose an official example or paste an event.";
      const plan = payload
        ? await previewEvent(config, store, eventFromWebhook(payload))
        : null;
      const fragment = html`<div id="plan" aria-live="polite">
        ${problem ? html`<p class="error" role="alert">${problem}</p>` : ""}${
          plan
            ? html`<h3>Plan for ${show(payload?.type)}</h3>
                ${planView(plan)}
                <p class="muted">Nothing was sent.</p>`
            : ""
        }
      </div>`;
      return send(
        reply.code(problem ? 400 : 200),
        request,
        "mapping",
        "Mapping preview",
        fragment,
      );
    },
  );

  // Connections
  const connectionsBody = async (
    request: FastifyRequest,
    problem: string | null = null,
  ): Promise<SafeHtml> => {
    const connections = connectionsOf(config, options.locationState);
    const pauses = new Map(
      ((await options.locationPauses?.list()) ?? []).map((p) => [
        p.locationId,
        p,
      ]),
    );
    const depth = await queue.depth();
    const control = options.locationPauses;
    return html`<div id="connections">
      ${problem ? html`<p class="error" role="alert">${problem}</p>` : ""}
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">System</th>
              <th scope="col">Account</th>
              <th scope="col">Name or URL</th>
              <th scope="col">State</th>
              <th scope="col">Authorization</th>
              ${control ? html`<th scope="col">Pause</th>` : ""}
            </tr>
          </thead>
          <tbody>
            ${connections.map((c) => {
              const pause = pauses.get(c.id) ?? null;
              const state = pause ? "paused" : c.state;
              return html`<tr data-connection="${c.id}">
                <td>
                  ${c.system === "ghl" ? "GHL location" : "Coopel account"}
                </td>
                <td><code>${c.id}</code></td>
                <td>${c.name}</td>
                <td>
                  <span class="badge badge-${state}">${state}</span
                  >${c.reason ? html` <span class="muted">${c.reason}</span>` : ""}
                </td>
                <td>token set in config (never shown)</td>
                ${
                  control
                    ? html`<td>
                        ${c.system === "ghl" ? pauseControls(c, pause, csrf(request)) : ""}
                      </td>`
                    : ""
                }
              </tr>`;
            })}
          </tbody>
        </table>
      </div>
      <p>Events waiting in the inbox: ${depth}.</p>
      <p class="muted">
        A paused location keeps receiving webhooks; its events wait in the inbox
        and run when it is resumed. <code>paused: true</code> under
        <code>ghl.locations</code> instead drops its webhooks.
      </p>
    </div>`;
  };

  app.get("/connections", async (request, reply) =>
    send(
      reply,
      request,
      "connections",
      "Connections",
      await connectionsBody(request),
    ),
  );

  const ghlLocation = (id: string) =>
    connectionsOf(config, options.locationState).find(
      (c) => c.system === "ghl" && c.id === id,
    );

  app.post<{ Params: { id: string }; Body: { reason?: string } }>(
    "/connections/:id/pause",
    async (request, reply) => {
      const control = options.locationPauses;
      if (!control) return reply.code(501).send({ error: "pause_unavailable" });
      const { id } = request.params;
      const reason = (request.body?.reason ?? "").trim();
      let problem: string | null = null;
      if (!ghlLocation(id))
        problem = `GHL location ${id} is not in ghl.locations; only configured locations can be paused.`;
      else if (reason === "" || reason.length > 200)
        problem = "Give a reason of 1 to 200 characters for the pause.";
      if (problem)
        return send(
          reply.code(400),
          request,
          "connections",
          "Connections",
          await connectionsBody(request, problem),
        );
      const pausedBy = `admin ${request.admin?.via ?? "session"} from ${request.ip}`;
      await control.pause(id, reason, pausedBy);
      request.log.warn(
        { locationId: id, pausedBy, reason },
        `GHL location ${id} paused from the dashboard; its events wait until it is resumed`,
      );
      return reply.redirect("/ui/connections", 303);
    },
  );

  app.post<{ Params: { id: string } }>(
    "/connections/:id/resume",
    async (request, reply) => {
      const control = options.locationPauses;
      if (!control) return reply.code(501).send({ error: "pause_unavailable" });
      const { id } = request.params;
      const resumed = await control.resume(id);
      request.log.warn(
        { locationId: id, resumed },
        resumed
          ? `GHL location ${id} resumed from the dashboard; its waiting events run now`
          : `GHL location ${id} was not paused; nothing to resume`,
      );
      return reply.redirect("/ui/connections", 303);
    },
  );

  // Catalog
  type CatalogQuery = { q?: string; system?: string; used?: string };
  app.get<{ Querystring: CatalogQuery }>("/catalog", async (request, reply) => {
    const q = request.query;
    const system =
      q.system === "ghl" || q.system === "coopel" ? q.system : undefined;
    const entries = searchCatalog(catalog.entries, {
      text: q.q,
      system,
      usedOnly: q.used === "1",
    });
    const { ghl, coopel } = catalog.counts;
    const row = (e: CatalogEntry) =>
      html`<tr>
        <td>${e.system === "ghl" ? "GHL" : "Coopel"}</td>
        <td>${e.kind === "trigger" ? "webhook" : e.method}</td>
        <td><code>${e.name}</code></td>
        <td>
          <span class="badge badge-use-${e.use}">${USE_LABELS[e.use]}</span>
        </td>
        <td>${e.scopes.join(" ")}</td>
        <td class="wrap">${e.summary}</td>
      </tr>`;
    const body = html` <p>
        GHL: ${ghl.actions} operations from the official OpenAPI specs and
        ${ghl.triggers} webhook events; ${ghl.byUse.synced} synced,
        ${ghl.byUse.read} read, ${ghl.byUse.action} offered as actions. Coopel:
        ${coopel.actions} operations; ${coopel.byUse.synced} synced,
        ${coopel.byUse.read} read.
      </p>
      <form
        class="filters"
        method="get"
        action="/ui/catalog"
        role="search"
        hx-get="/ui/catalog"
        hx-target="#results"
        hx-select="#results"
        hx-swap="outerHTML"
        hx-push-url="true"
        hx-trigger="change, input delay:300ms from:input[type=search], submit"
        hx-sync="this:replace"
      >
        <label
          >Search
          <input
            type="search"
            name="q"
            value="${q.q ?? ""}"
            placeholder="path, summary or scope"
        /></label>
        <label
          >System
          <select name="system">
            <option value="">both</option>
            <option value="ghl" ${system === "ghl" ? html` selected` : ""}>
              GHL
            </option>
            <option
              value="coopel"
              ${system === "coopel" ? html` selected` : ""}
            >
              Coopel
            </option>
          </select></label
        >
        <label class="check"
          ><input
            type="checkbox"
            name="used"
            value="1"
            ${q.used === "1" ? html` checked` : ""}
          />
          Used only</label
        >
        <button type="submit">Search</button>
      </form>
      <div id="results">
        <p role="status">
          ${entries.length} of ${catalog.entries.length} shown.
        </p>
        <div class="table-wrap">
          <table class="catalog">
            <thead>
              <tr>
                <th scope="col">System</th>
                <th scope="col">Method</th>
                <th scope="col">Path or event</th>
                <th scope="col">Use</th>
                <th scope="col">Scopes</th>
                <th scope="col">Summary</th>
              </tr>
            </thead>
            <tbody>
              ${entries.map(row)}
            </tbody>
          </table>
        </div>
      </div>`;
    return send(reply, request, "catalog", "Operations catalog", body);
  });
}

function loginPage(): SafeHtml {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Log in · ghl-coopel-sync</title>
        <link rel="icon" href="/ui/assets/favicon.svg" />
        <link rel="stylesheet" href="/ui/assets/app.css" />
        <script src="/ui/assets/login.js" defer></script>
      </head>
      <body>
        <main id="main" class="login">
          <h1>Log in to ghl-coopel-sync</h1>
          <form id="login" method="post" action="/admin/login">
            <label for="password">Admin password</label>
            <input
              id="password"
              name="password"
              type="password"
              autocomplete="current-password"
              required
            />
            <button type="submit">Log in</button>
            <p id="login-error" class="error" role="alert" hidden></p>
          </form>
          <p class="muted">
            The password is the one whose hash is set as
            <code>admin.password_hash</code> in the config.
          </p>
        </main>
      </body>
    </html>`;
}

function sameValue(a: unknown, b: unknown): boolean {
  const norm = (v: unknown) => (v === undefined || v === "" ? null : v);
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

function planView(plan: Plan): SafeHtml {
  return html`<dl class="facts">
      <div>
        <dt>Outcome</dt>
        <dd>
          <span class="badge badge-${plan.outcome}">${plan.outcome}</span>
          ${plan.reason ?? ""}
        </dd>
      </div>
    </dl>
    ${
      plan.requests.length === 0
        ? html`<p class="empty">No request would be sent.</p>`
        : html`<ol class="plan">
            ${plan.requests.map((r) => html`<li><strong>${r.method}</strong> ${r.operation} <code>${r.path}</code>${r.body ? html`<pre>${JSON.stringify(r.body, null, 2)}</pre>` : ""}</li>`)}
          </ol>`
    }
    ${
      plan.warnings.length > 0
        ? html`<ul class="warnings">
            ${plan.warnings.map((w) => html`<li>${w}</li>`)}
          </ul>`
        : ""
    }`;
}
