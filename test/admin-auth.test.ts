import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../src/security/passwords.js";
import { isOpenRoute } from "../src/security/admin-auth.js";
import { startHarness, testConfig, type Harness } from "./helpers/harness.js";

const PASSWORD = "admin-test-password-7f3a";
const ADMIN_TOKEN = randomBytes(32).toString("base64url");
process.env.GHL_COOPEL_SYNC_ENCRYPTION_KEY = randomBytes(32).toString("base64");

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness({
    admin: {
      password_hash: await hashPassword(PASSWORD),
      token: ADMIN_TOKEN,
      secure_cookies: true,
    },
    ghl: {
      ...(await import("./helpers/harness.js")).testConfig("", "http://x").ghl,
      oauth: {
        client_id: "app1-admin-test",
        client_secret: "admin-test-client-secret",
        redirect_uri: "http://127.0.0.1/oauth/callback",
      },
    },
  });
});

afterAll(async () => {
  await harness?.close();
});

/** Every registered route with its methods, read from Fastify's route tree. */
function registeredRoutes(): { path: string; methods: string[] }[] {
  const tree = harness.service.server.printRoutes({ commonPrefix: false });
  const stack: { depth: number; path: string }[] = [];
  const routes: { path: string; methods: string[] }[] = [];
  for (const line of tree.split("\n")) {
    const match = /^([│ ├└─]*)(\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (match === null) continue;
    const depth = match[1]!.length;
    while (stack.length > 0 && stack.at(-1)!.depth >= depth) stack.pop();
    const path = (stack.at(-1)?.path ?? "") + match[2]!;
    stack.push({ depth, path });
    if (match[3] !== undefined)
      routes.push({
        path,
        methods: match[3].split(",").map((m) => m.trim()),
      });
  }
  return routes;
}

function url(path: string): string {
  return `${harness.service.url}${path.replace(/:(\w+)/g, "x")}`;
}

async function login(): Promise<{
  cookie: string;
  csrfToken: string;
  setCookie: string;
}> {
  const response = await fetch(url("/admin/login"), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ password: PASSWORD }).toString(),
  });
  expect(response.status).toBe(200);
  const setCookie = response.headers.get("set-cookie") ?? "";
  const body = (await response.json()) as { csrfToken: string };
  return {
    cookie: setCookie.split(";")[0]!,
    csrfToken: body.csrfToken,
    setCookie,
  };
}

describe("admin side", () => {
  it("answers 401 on every admin route without a login", async () => {
    const routes = registeredRoutes();
    expect(routes.map((r) => r.path)).toEqual(
      expect.arrayContaining(["/metrics", "/admin/session", "/oauth/connect"]),
    );
    let checked = 0;
    for (const route of routes) {
      if (isOpenRoute(route.path)) continue;
      for (const method of route.methods) {
        const response = await fetch(url(route.path), { method });
        expect(response.status, `${method} ${route.path}`).toBe(401);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(5);
    // Routes that do not exist are closed too, so no route is open by mistake.
    expect((await fetch(url("/admin/anything"))).status).toBe(401);
    // A wrong token or a forged cookie opens nothing.
    const forged = await fetch(url("/metrics"), {
      headers: {
        authorization: "Bearer wrong",
        cookie: "gcs_session=9999999999999.abc.def",
      },
    });
    expect(forged.status).toBe(401);
  });

  it("leaves health, webhooks and the OAuth callback open", async () => {
    expect((await fetch(url("/healthz"))).status).toBe(200);
    expect((await fetch(url("/readyz"))).status).toBe(200);
    const webhook = await fetch(url("/webhooks/ghl"), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(webhook.status).toBe(401);
    expect(((await webhook.json()) as { error: string }).error).toBe(
      "signature_missing",
    );
    const callback = await fetch(url("/oauth/callback"));
    expect(callback.status).toBe(400);
  });

  it("logs in with a secure HTTP-only cookie and checks CSRF", async () => {
    const { cookie, csrfToken, setCookie } = await login();
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("Secure");
    expect(setCookie).toContain("SameSite=Strict");

    const session = await fetch(url("/admin/session"), { headers: { cookie } });
    expect(session.status).toBe(200);
    expect(await session.json()).toEqual({ via: "session", csrfToken });
    expect((await fetch(url("/metrics"), { headers: { cookie } })).status).toBe(
      200,
    );

    const withoutCsrf = await fetch(url("/admin/logout"), {
      method: "POST",
      headers: { cookie },
    });
    expect(withoutCsrf.status).toBe(403);
    const wrongCsrf = await fetch(url("/admin/logout"), {
      method: "POST",
      headers: { cookie, "x-csrf-token": "not-the-token" },
    });
    expect(wrongCsrf.status).toBe(403);
    const form = await fetch(url("/admin/logout"), {
      method: "POST",
      headers: {
        cookie,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({ _csrf: csrfToken }).toString(),
    });
    expect(form.status).toBe(200);
  });

  it("accepts the admin token without CSRF", async () => {
    const response = await fetch(url("/metrics"), {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(response.status).toBe(200);
    const connect = await fetch(url("/oauth/connect"), {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      redirect: "manual",
    });
    expect(connect.status).toBe(302);
    const location = new URL(connect.headers.get("location")!);
    expect(location.origin).toBe("https://marketplace.gohighlevel.com");
    expect(location.searchParams.get("client_id")).toBe("app1-admin-test");
    expect(location.searchParams.get("state")).toMatch(/^\d+\.[\w-]+\.[\w-]+$/);
  });

  it("sends security headers on every answer", async () => {
    for (const path of ["/healthz", "/metrics"]) {
      const response = await fetch(url(path));
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("x-frame-options")).toBe("DENY");
      expect(response.headers.get("content-security-policy")).toContain(
        "frame-ancestors 'none'",
      );
      expect(response.headers.get("referrer-policy")).toBe("no-referrer");
      expect(response.headers.get("strict-transport-security")).toContain(
        "max-age=",
      );
    }
  });

  it("rejects a wrong password and slows down guessing", async () => {
    const attempt = () =>
      fetch(url("/admin/login"), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ password: "guess" }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 11; i += 1) statuses.push((await attempt()).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses[10]).toBe(429);
  });
});
