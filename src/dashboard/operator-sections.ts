import type { Config } from "../config/schema.js";
import type { ApiUsage, ContactCount, LocationPause } from "../engine/ports.js";
import type { ConnectionState } from "../operator/overview.js";
import { html, type SafeHtml } from "./html.js";
import { csrfField, when } from "./layout.js";

/** Pauses and resumes GHL locations for the Connections page. */
export interface LocationPauseControl {
  list(): Promise<LocationPause[]>;
  pause(
    locationId: string,
    reason: string,
    pausedBy: string,
  ): Promise<LocationPause>;
  resume(locationId: string): Promise<boolean>;
}

/** Returns the epoch milliseconds of the last midnight, UTC. */
export function startOfUtcDay(now: number): number {
  const day = new Date(now);
  return Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate());
}

/**
 * Renders the requests of today per account against its daily budget: GHL
 * requests per location, and every Coopel request for the one Coopel account.
 */
export function apiUsageSection(config: Config, usage: ApiUsage[]): SafeHtml {
  const ghlDaily = config.ghl.rate_limit.daily;
  const coopelDaily = config.coopel.rate_limit?.daily ?? null;
  const rows = config.ghl.locations.map((location) => ({
    account: location.name ? `GHL location ${location.name}` : "GHL location",
    id: location.id,
    requests: usage
      .filter((u) => u.api === "GHL" && u.accountId === location.id)
      .reduce((sum, u) => sum + u.requests, 0),
    daily: ghlDaily,
  }));
  rows.push({
    account: "Coopel account",
    id: config.coopel.account_id,
    requests: usage
      .filter((u) => u.api === "Coopel")
      .reduce((sum, u) => sum + u.requests, 0),
    daily: coopelDaily,
  });
  const share = (requests: number, daily: number | null): string =>
    daily === null || daily === 0
      ? "no daily budget set"
      : `${((requests / daily) * 100).toFixed(2)} %`;
  return html`<section aria-labelledby="budget-h">
    <h2 id="budget-h">API budget used today</h2>
    <div class="table-wrap">
      <table class="api-usage">
        <thead>
          <tr>
            <th scope="col">Account</th>
            <th scope="col">Requests since 00:00 UTC</th>
            <th scope="col">Daily budget</th>
            <th scope="col">Used</th>
          </tr>
        </thead>
        <tbody>
          ${rows.map(
            (row) =>
              html`<tr data-account="${row.id}">
                <td>${row.account} <code>${row.id}</code></td>
                <td data-figure="requests-today">${row.requests}</td>
                <td>${row.daily ?? "–"}</td>
                <td>${share(row.requests, row.daily)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
    <p class="muted">
      Counted from the requests stored with each event; the requests of earlier
      failed attempts of a retried event are not stored, so a day with many
      retries counts low.
    </p>
  </section>`;
}

/** Renders the chart of linked contacts on each side, summed over locations, with its data. */
export function contactChartSection(
  counts: ContactCount[],
  from: number,
  to: number,
): SafeHtml {
  const byTime = new Map<number, { ghl: number; coopel: number }>();
  for (const count of counts) {
    const point = byTime.get(count.recordedAt) ?? { ghl: 0, coopel: 0 };
    point.ghl += count.ghlContacts;
    point.coopel += count.coopelContacts;
    byTime.set(count.recordedAt, point);
  }
  const times = [...byTime.keys()].sort((a, b) => a - b);
  const series = JSON.stringify({
    from: from / 1000,
    to: to / 1000,
    t: times.map((t) => t / 1000),
    ghl: times.map((t) => byTime.get(t)!.ghl),
    coopel: times.map((t) => byTime.get(t)!.coopel),
  });
  const last = times.length > 0 ? byTime.get(times[times.length - 1]!)! : null;
  const summary = last
    ? `${contacts(last.ghl)} from GHL, ${last.coopel} of them on Coopel, at the last count`
    : "no counts recorded yet";
  return html`<section aria-labelledby="contacts-chart-h">
    <h2 id="contacts-chart-h">Contacts on each side over 7 days</h2>
    <figure>
      <div
        id="contacts-chart"
        class="chart"
        data-series="${series}"
        role="img"
        aria-label="Chart of linked contacts over the last 7 days: ${summary}"
      ></div>
      <figcaption>
        Counted from the link table every 15 minutes by the worker: contacts the
        sync has received from GHL and not seen deleted, and those of them that
        have a Coopel record. ${summary}.
      </figcaption>
    </figure>
  </section>`;
}

/** Renders the pause or resume form of one GHL location for the Connections page. */
export function pauseControls(
  connection: ConnectionState,
  pause: LocationPause | null,
  csrfToken: string | null,
): SafeHtml {
  const id = connection.id;
  if (pause)
    return html`<p class="pause-note" data-paused-by="${pause.pausedBy}">
        Paused by ${pause.pausedBy} at ${when(pause.pausedAt)}: ${pause.reason}
      </p>
      <form
        method="post"
        action="/ui/connections/${id}/resume"
        hx-post="/ui/connections/${id}/resume"
        hx-target="#connections"
        hx-select="#connections"
        hx-swap="outerHTML"
        hx-confirm="Resume GHL location ${id}? Its waiting events run now."
      >
        ${csrfField(csrfToken)}
        <button type="submit">Resume ${connection.name}</button>
      </form>`;
  return html`<form
    class="pause-form"
    method="post"
    action="/ui/connections/${id}/pause"
    hx-post="/ui/connections/${id}/pause"
    hx-target="#connections"
    hx-select="#connections"
    hx-swap="outerHTML"
    hx-confirm="Pause GHL location ${id}? Its events are kept and wait until you resume it."
  >
    ${csrfField(csrfToken)}
    <label for="reason-${id}">Reason</label>
    <input
      id="reason-${id}"
      name="reason"
      required
      maxlength="200"
      autocomplete="off"
    />
    <button type="submit">Pause ${connection.name}</button>
  </form>`;
}

function contacts(count: number): string {
  return `${count} contact${count === 1 ? "" : "s"}`;
}
