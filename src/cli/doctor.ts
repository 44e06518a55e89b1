import type { LoadedConfig } from "../config/load.js";
import { missingRoutes } from "../runtime/missing-routes.js";
import { openStorage } from "../runtime/service.js";

/** One check of `doctor`: what was checked, whether it passed, and how to fix it when not. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** Advice for fixing a failed check or a warning; null when it passed. */
  fix: string | null;
  /** Set on a passed check that still needs attention, such as Coopel routes set to null. */
  warning?: true;
}

/** Clock skew above this many seconds fails the check, because webhook timestamps are compared with the local clock. */
const MAX_SKEW_SECONDS = 60;

async function probe(
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<{ status: number; date: string | null; body: string }> {
  const response = await fetch(url, {
    headers: { accept: "application/json", ...headers },
    signal: AbortSignal.timeout(timeoutMs),
  });
  return {
    status: response.status,
    date: response.headers.get("date"),
    body: (await response.text()).slice(0, 200),
  };
}

function skewCheck(system: string, date: string | null): Check | null {
  if (date === null) return null;
  const skew = (Date.now() - Date.parse(date)) / 1000;
  if (Number.isNaN(skew)) return null;
  const ok = Math.abs(skew) <= MAX_SKEW_SECONDS;
  return {
    name: `clock skew against ${system}`,
    ok,
    detail: `${skew.toFixed(0)} s`,
    fix: ok
      ? null
      : "synchronise this machine's clock (NTP); webhook timestamps are checked against it",
  };
}

/** Runs every check and returns them in order. */
export async function runChecks(loaded: LoadedConfig): Promise<Check[]> {
  const { config } = loaded;
  const checks: Check[] = [
    {
      name: "configuration",
      ok: true,
      detail: "valid",
      fix: null,
    },
  ];

  for (const missing of missingRoutes(config))
    checks.push({
      name: `Coopel routes for ${missing.entity}`,
      ok: true,
      warning: true,
      detail: missing.message,
      fix: missing.fix,
    });

  try {
    const storage = await openStorage(config, loaded.baseDir);
    try {
      await storage.store.checkWritable();
      checks.push({
        name: "store",
        ok: true,
        detail: storage.dataLocation,
        fix: null,
      });
    } finally {
      await storage.queue.close();
      await storage.store.close();
    }
  } catch (error) {
    checks.push({
      name: "store",
      ok: false,
      detail: (error as Error).message,
      fix: "check store.url, that the folder or database exists and that this user may write to it",
    });
  }

  const coopelUrl = new URL(
    (config.coopel.routes.list_contacts ?? "/contacts/").replace(/^\//, ""),
    config.coopel.base_url.endsWith("/")
      ? config.coopel.base_url
      : `${config.coopel.base_url}/`,
  );
  try {
    const answer = await probe(
      coopelUrl.href,
      { authorization: `Bearer ${config.coopel.token}` },
      config.coopel.timeout_ms,
    );
    if (answer.status === 401 || answer.status === 403) {
      checks.push({
        name: "Coopel token",
        ok: false,
        detail: `Coopel answered ${answer.status} to GET ${coopelUrl.pathname}`,
        fix: "the Coopel token is invalid, expired or revoked: set coopel.token (or the variable it names) to a valid token",
      });
    } else if (answer.status >= 400) {
      checks.push({
        name: "Coopel routes",
        ok: false,
        detail: `Coopel answered ${answer.status} to GET ${coopelUrl.pathname}`,
        fix: "check coopel.base_url and coopel.routes.list_contacts against your Coopel API",
      });
    } else {
      checks.push({
        name: "Coopel API",
        ok: true,
        detail: `GET ${coopelUrl.pathname} answered ${answer.status}`,
        fix: null,
      });
    }
    const skew = skewCheck("Coopel", answer.date);
    if (skew) checks.push(skew);
  } catch (error) {
    checks.push({
      name: "Coopel API",
      ok: false,
      detail: `${coopelUrl.origin} not reached: ${(error as Error).message}`,
      fix: "check coopel.base_url and that this machine can reach it",
    });
  }

  for (const location of config.ghl.locations) {
    const name = `GHL location ${location.id}`;
    if (location.token === undefined) {
      checks.push({
        name,
        ok: true,
        detail:
          "uses its OAuth connection (see the dashboard's Connections page)",
        fix: null,
      });
      continue;
    }
    const url = new URL(
      "contacts/search/duplicate",
      config.ghl.base_url.endsWith("/")
        ? config.ghl.base_url
        : `${config.ghl.base_url}/`,
    );
    url.searchParams.set("locationId", location.id);
    url.searchParams.set("email", "doctor-probe@example.invalid");
    try {
      const answer = await probe(
        url.href,
        {
          authorization: `Bearer ${location.token}`,
          version: config.ghl.api_version,
        },
        config.coopel.timeout_ms,
      );
      if (answer.status === 401) {
        checks.push({
          name,
          ok: false,
          detail: `GHL answered 401 to GET /contacts/search/duplicate`,
          fix: "the location's token is invalid or revoked: create a new Private Integration token in GHL and set it in ghl.locations",
        });
      } else if (answer.status === 403) {
        checks.push({
          name,
          ok: false,
          detail: "GHL answered 403: the token lacks a scope",
          fix: "give the token the contacts.readonly and contacts.write scopes",
        });
      } else if (answer.status >= 400) {
        checks.push({
          name,
          ok: false,
          detail: `GHL answered ${answer.status}: ${answer.body}`,
          fix: "check ghl.base_url, ghl.api_version and the location id",
        });
      } else {
        checks.push({
          name,
          ok: true,
          detail: "token accepted with contacts.readonly",
          fix: null,
        });
      }
      const skew = skewCheck("GHL", answer.date);
      if (skew) checks.push(skew);
    } catch (error) {
      checks.push({
        name,
        ok: false,
        detail: `${url.origin} not reached: ${(error as Error).message}`,
        fix: "check ghl.base_url and that this machine can reach it",
      });
    }
  }
  return checks;
}

/** Prints the checks; exit code 1 when any failed. */
export async function runDoctor(
  loaded: LoadedConfig,
  options: { json?: boolean },
): Promise<number> {
  const checks = await runChecks(loaded);
  const failed = checks.filter((c) => !c.ok).length;
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ ok: failed === 0, checks }, null, 2)}\n`,
    );
  } else {
    for (const check of checks) {
      let mark = "ok  ";
      if (!check.ok) mark = "FAIL";
      else if (check.warning) mark = "WARN";
      process.stdout.write(`${mark} ${check.name}: ${check.detail}\n`);
      if (check.fix) process.stdout.write(`     fix: ${check.fix}\n`);
    }
    process.stdout.write(
      failed === 0
        ? "All checks passed.\n"
        : `${failed} check${failed === 1 ? "" : "s"} failed.\n`,
    );
  }
  return failed === 0 ? 0 : 1;
}
