import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type {
  ConflictRecord,
  ContactSummary,
  ReviewItem,
  SyncState,
} from "../engine/ports.js";
import {
  ReviewDecisionError,
  type ReviewDecider,
} from "../engine/review-decisions.js";
import { html, type SafeHtml } from "./html.js";
import { csrfField, when, type Section } from "./layout.js";

/** The conflict log and the review list, as the running service reads and decides them. */
export interface ReviewPageOptions {
  /** The conflict log, newest first; without it the page shows none. */
  conflicts?: (filter: {
    limit: number;
    field?: string;
  }) => Promise<ConflictRecord[]>;
  /** The review list and its decisions; without them the page lists nothing to decide. */
  review?: { state: SyncState; decider: ReviewDecider };
}

type Send = (
  reply: FastifyReply,
  request: FastifyRequest,
  section: Section,
  title: string,
  body: SafeHtml,
) => FastifyReply;

const TITLE = "Conflicts and review";
const CONFLICT_LIMIT = 200;
/** Conflict field names are Coopel field names: letters, digits, `_`, `.` and `-`. */
const FIELD_NAME = /^[\w.-]{1,100}$/;

function value(content: unknown): string {
  if (content === undefined || content === null) return "(empty)";
  return typeof content === "string" ? content : JSON.stringify(content);
}

function describeContact(summary: ContactSummary): string {
  const parts = [
    summary.name ?? "(no name)",
    summary.email ? `<${summary.email}>` : null,
    summary.phone,
  ].filter((p): p is string => p !== null);
  return parts.join(" ");
}

function conflictTable(
  conflicts: ConflictRecord[],
  field: string | undefined,
): SafeHtml {
  if (conflicts.length === 0)
    return html`<p class="muted">
      ${field ? `No conflicts recorded for field ${field}.` : "No conflicts recorded."}
    </p>`;
  return html`<div class="table-wrap">
    <table class="conflicts">
      <caption>
        ${conflicts.length} conflict${conflicts.length === 1 ? "" : "s"}, newest
        first${conflicts.length === CONFLICT_LIMIT ? ` (the newest ${CONFLICT_LIMIT} only)` : ""}
      </caption>
      <thead>
        <tr>
          <th scope="col">Detected</th>
          <th scope="col">Record</th>
          <th scope="col">Field</th>
          <th scope="col">GHL value</th>
          <th scope="col">GHL updated</th>
          <th scope="col">Coopel value</th>
          <th scope="col">Coopel updated</th>
          <th scope="col">Winner</th>
          <th scope="col">Rule</th>
        </tr>
      </thead>
      <tbody>
        ${conflicts.map(
          (c) =>
            html`<tr data-conflict-id="${c.id}" data-field="${c.field}">
              <td>${when(c.detectedAt)}</td>
              <td>
                <a
                  href="/ui/contacts/${encodeURIComponent(c.ghlLocationId)}/${encodeURIComponent(c.ghlId)}"
                  >GHL ${c.ghlId}</a
                ><br />Coopel ${c.coopelId}
              </td>
              <td><code>${c.field}</code></td>
              <td>${value(c.ghlValue)}</td>
              <td>${when(c.ghlUpdatedAt)}</td>
              <td>${value(c.coopelValue)}</td>
              <td>${when(c.coopelUpdatedAt)}</td>
              <td>${c.winner === "ghl" ? "GHL" : "Coopel"}</td>
              <td><code>${c.rule}</code></td>
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

function reviewItemView(item: ReviewItem, csrf: string | null): SafeHtml {
  const candidates = item.candidates;
  const chooser =
    candidates.length > 1
      ? html`<label for="coopel-${item.id}">Coopel contact</label>
          <select id="coopel-${item.id}" name="coopel">
            ${candidates.map(
              (c) =>
                html`<option value="${c.id}">
                  ${describeContact(c)} (${c.id})
                </option>`,
            )}
          </select>`
      : "";
  const accept =
    candidates.length === 0
      ? html`<p class="muted">
          No Coopel candidate: reject the item to create the contact on its own,
          or leave it unlinked.
        </p>`
      : html`<form
          method="post"
          action="/ui/review/${item.id}/accept"
          hx-post="/ui/review/${item.id}/accept"
          hx-target="#review"
          hx-select="#review"
          hx-swap="outerHTML"
          hx-confirm="Accept review item #${item.id}? The GHL contact is linked to the chosen Coopel contact, which gets the GHL values."
        >
          ${csrfField(csrf)} ${chooser}
          <button type="submit">Accept #${item.id}</button>
        </form>`;
  return html`<li class="review-item" data-review-id="${item.id}">
    <h3>#${item.id}: ${item.reason.replaceAll("_", " ")}</h3>
    <p>
      GHL contact ${describeContact(item.ghl)} (<a
        href="/ui/contacts/${encodeURIComponent(item.ghlLocationId)}/${encodeURIComponent(item.ghl.id)}"
        >${item.ghl.id}</a
      >), on the list since ${when(item.createdAt)}
    </p>
    ${
      candidates.length > 0
        ? html`<p>Coopel candidates:</p>
            <ul>
              ${candidates.map(
                (c) => html`<li>${describeContact(c)} (${c.id})</li>`,
              )}
            </ul>`
        : ""
    }
    <div class="actions">
      ${accept}
      <form
        method="post"
        action="/ui/review/${item.id}/reject"
        hx-post="/ui/review/${item.id}/reject"
        hx-target="#review"
        hx-select="#review"
        hx-swap="outerHTML"
        hx-confirm="Reject review item #${item.id}? The GHL contact is another person: it is created on Coopel as a contact of its own, unless you chose to leave it unlinked."
      >
        ${csrfField(csrf)}
        <label
          ><input type="checkbox" name="leave_unlinked" value="1" /> Leave
          unlinked</label
        >
        <button type="submit">Reject #${item.id}</button>
      </form>
    </div>
  </li>`;
}

function outcomeView(item: ReviewItem | null): SafeHtml | "" {
  if (item === null || item.status === "open") return "";
  const ghl = `GHL contact ${item.ghl.id}`;
  const text =
    item.status === "accepted"
      ? `Review item #${item.id} accepted: ${ghl} is linked to Coopel contact ${item.resolvedCoopelId}.`
      : item.resolvedCoopelId
        ? `Review item #${item.id} rejected: ${ghl} was created as Coopel contact ${item.resolvedCoopelId} and linked.`
        : `Review item #${item.id} rejected: ${ghl} stays unlinked, and backfill leaves it alone.`;
  return html`<p class="notice" role="status" data-outcome="${item.status}">
    ${text}
  </p>`;
}

/** Registers GET /review and the accept and reject routes on the protected dashboard. */
export function registerReviewPage(
  app: FastifyInstance,
  options: ReviewPageOptions,
  send: Send,
  csrf: (request: FastifyRequest) => string | null,
): void {
  const body = async (
    request: FastifyRequest,
    fieldInput: string | undefined,
    message: SafeHtml | "",
  ): Promise<SafeHtml> => {
    const field = fieldInput?.trim() || undefined;
    const fieldValid = field === undefined || FIELD_NAME.test(field);
    const conflicts =
      options.conflicts && fieldValid
        ? await options.conflicts({ limit: CONFLICT_LIMIT, field })
        : [];
    const items = options.review
      ? await options.review.state.listReviewItems("open")
      : [];
    const token = csrf(request);
    return html`<section aria-labelledby="conflicts-heading">
        <h2 id="conflicts-heading">Conflict log</h2>
        <p>
          A conflict is a field that changed on both sides since the last sync;
          the rule named in each row picked the winning value.
        </p>
        <form method="get" action="/ui/review" class="filters" role="search">
          <label for="conflict-field">Field</label>
          <input
            id="conflict-field"
            name="field"
            type="text"
            value="${field ?? ""}"
            placeholder="for example email"
            aria-describedby="conflict-field-help"
          />
          <span id="conflict-field-help" class="muted"
            >A Coopel field name; empty shows every field.</span
          >
          <button type="submit">Filter</button>
        </form>
        ${
          fieldValid
            ? ""
            : html`<p class="error" role="alert">
                Field ${field} is not a field name; use letters, digits, _, .
                and - only, or leave it empty.
              </p>`
        }
        ${
          options.conflicts
            ? conflictTable(conflicts, field)
            : html`<p class="muted">
                The conflict log is not available in this process.
              </p>`
        }
      </section>
      <section aria-labelledby="review-heading">
        <h2 id="review-heading">First-sync review</h2>
        <div id="review">
          ${message}
          ${
            !options.review
              ? html`<p class="muted">
                  The review list is not available in this process.
                </p>`
              : items.length === 0
                ? html`<p class="muted">No open review items.</p>`
                : html`<ol class="review-list">
                    ${items.map((item) => reviewItemView(item, token))}
                  </ol>`
          }
        </div>
      </section>`;
  };

  app.get<{ Querystring: { field?: string; decided?: string } }>(
    "/review",
    async (request, reply) => {
      const decided = request.query.decided;
      const item =
        options.review && decided && /^\d+$/.test(decided)
          ? await options.review.state.getReviewItem(decided)
          : null;
      return send(
        reply,
        request,
        "review",
        TITLE,
        await body(request, request.query.field, outcomeView(item)),
      );
    },
  );

  const decide = async (
    request: FastifyRequest,
    reply: FastifyReply,
    id: string,
    run: (decider: ReviewDecider) => Promise<unknown>,
  ) => {
    if (!options.review)
      return reply.code(501).send({ error: "review_unavailable" });
    try {
      await run(options.review.decider);
    } catch (error) {
      if (!(error instanceof ReviewDecisionError)) throw error;
      request.log.warn(
        { err: error, reviewItemId: id },
        "review decision from the dashboard failed",
      );
      // htmx swaps only 2xx responses, so a request from htmx gets the error page with 200.
      const status = request.headers["hx-request"] ? 200 : 409;
      const alert = html`<p class="error" role="alert">
        ${error.message.replaceAll("`", "")}
      </p>`;
      return send(
        reply.code(status),
        request,
        "review",
        TITLE,
        await body(request, undefined, alert),
      );
    }
    request.log.info(
      { reviewItemId: id, admin: request.admin?.via ?? "session" },
      "review item decided from the dashboard",
    );
    return reply.redirect(`/ui/review?decided=${encodeURIComponent(id)}`, 303);
  };

  app.post<{ Params: { id: string }; Body: { coopel?: string } }>(
    "/review/:id/accept",
    (request, reply) => {
      const coopel = request.body?.coopel?.trim() || undefined;
      return decide(request, reply, request.params.id, (decider) =>
        decider.accept(request.params.id, coopel),
      );
    },
  );

  app.post<{ Params: { id: string }; Body: { leave_unlinked?: string } }>(
    "/review/:id/reject",
    (request, reply) =>
      decide(request, reply, request.params.id, (decider) =>
        decider.reject(request.params.id, request.body?.leave_unlinked === "1"),
      ),
  );
}
