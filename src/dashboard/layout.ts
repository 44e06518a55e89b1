import { html, type SafeHtml } from "./html.js";

export const NAV = [
  ["overview", "/ui", "Overview"],
  ["events", "/ui/events", "Events"],
  ["dead-letters", "/ui/dead-letters", "Dead letters"],
  ["contacts", "/ui/contacts", "Contacts"],
  ["review", "/ui/review", "Conflicts and review"],
  ["mapping", "/ui/mapping", "Mapping"],
  ["connections", "/ui/connections", "Connections"],
  ["catalog", "/ui/catalog", "Catalog"],
] as const;

export type Section = (typeof NAV)[number][0];

export interface PageOptions {
  title: string;
  section: Section;
  body: SafeHtml;
  /** CSRF token sent with every htmx request and form; null when none is needed. */
  csrfToken: string | null;
  /** Extra scripts, as paths under /ui/assets/. */
  scripts?: string[];
  styles?: string[];
}

/** A full dashboard page: header, navigation, main content. */
export function page(options: PageOptions): SafeHtml {
  const headers =
    options.csrfToken === null
      ? null
      : JSON.stringify({ "x-csrf-token": options.csrfToken });
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false}'>
<title>${options.title} · ghl-coopel-sync</title>
<link rel="icon" href="/ui/assets/favicon.svg">
<link rel="stylesheet" href="/ui/assets/app.css">
${(options.styles ?? []).map((s) => html`<link rel="stylesheet" href="/ui/assets/${s}" />`)}
<script src="/ui/assets/htmx.min.js" defer></script>
${(options.scripts ?? []).map((s) => html`<script src="/ui/assets/${s}" defer></script>`)}
</head>
<body${headers === null ? "" : html` hx-headers="${headers}"`}>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <span class="brand">ghl-coopel-sync</span>
  <nav aria-label="Sections">
    <ul>
      ${NAV.map(
        ([id, href, label]) =>
          html`<li>
            <a
              href="${href}"
              ${id === options.section ? html` aria-current="page"` : ""}
              >${label}</a
            >
          </li>`,
      )}
    </ul>
  </nav>
</header>
<main id="main">
<h1>${options.title}</h1>
${options.body}
</main>
</body>
</html>`;
}

/** A hidden form field carrying the CSRF token, when one is needed. */
export function csrfField(token: string | null): SafeHtml {
  return token === null
    ? html``
    : html`<input type="hidden" name="_csrf" value="${token}" />`;
}

/** Formats epoch milliseconds as an ISO time in UTC, to the second. */
export function when(ms: number | null): string {
  return ms === null
    ? "–"
    : `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}
