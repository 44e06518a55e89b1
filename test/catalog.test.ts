import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { catalog, searchCatalog } from "../src/catalog/catalog.js";
import {
  buildCatalog,
  readCatalogInputs,
  type CatalogEntry,
} from "../src/catalog/generate.js";
import { runCli } from "./helpers/cli.js";

const root = path.resolve(import.meta.dirname, "..");

function find(
  entries: CatalogEntry[],
  system: string,
  method: string | null,
  name: string,
): CatalogEntry | undefined {
  return entries.find(
    (e) => e.system === system && e.method === method && e.name === name,
  );
}

describe("operations catalog", () => {
  it("the committed catalog matches the specs and the code", async () => {
    const fresh = buildCatalog(await readCatalogInputs(root));
    const written: unknown = JSON.parse(
      readFileSync(path.join(root, "src/catalog/operations.json"), "utf8"),
    );
    expect(written, "run npm run catalog to regenerate").toEqual(fresh);
  });

  it("lists every operation of the official specs and every webhook example", () => {
    let operations = 0;
    for (const file of [
      "businesses",
      "contacts",
      "custom-fields",
      "locations",
      "oauth",
      "users",
    ]) {
      const spec = JSON.parse(
        readFileSync(path.join(root, `spec/ghl/${file}.json`), "utf8"),
      ) as { paths: Record<string, Record<string, unknown>> };
      for (const item of Object.values(spec.paths))
        operations += Object.keys(item).filter((k) =>
          ["get", "post", "put", "patch", "delete"].includes(k),
        ).length;
    }
    expect(catalog.counts.ghl.actions).toBe(operations);
    expect(catalog.counts.ghl.triggers).toBe(13);
    const get = find(catalog.entries, "ghl", "GET", "/contacts/{contactId}");
    expect(get).toMatchObject({
      use: "read",
      scopes: ["contacts.readonly"],
      summary: "Get Contact",
      usedBy: ["src/connectors/ghl/api.ts"],
    });
    expect(find(catalog.entries, "ghl", null, "ContactUpdate")?.use).toBe(
      "synced",
    );
    expect(find(catalog.entries, "ghl", null, "TaskCreate")?.use).toBe(
      "unused",
    );
    expect(
      find(catalog.entries, "coopel", "PUT", "/contacts/{contactId}")?.use,
    ).toBe("synced");
  });

  it("derives the marks from the connector sources", async () => {
    const inputs = await readCatalogInputs(root);
    const before = buildCatalog(inputs);
    expect(
      find(before.entries, "ghl", "POST", "/contacts/{contactId}/followers")
        ?.use,
    ).toBe("unused");
    const after = buildCatalog({
      ...inputs,
      ghlSources: {
        ...inputs.ghlSources,
        "src/connectors/ghl/followers.ts": `await this.http.request(locationId, "POST", \`/contacts/\${encodeURIComponent(id)}/followers\`, { body, context });`,
      },
      coopelRoutes: { ...inputs.coopelRoutes, list_contacts: null },
    });
    expect(
      find(after.entries, "ghl", "POST", "/contacts/{contactId}/followers"),
    ).toMatchObject({
      use: "synced",
      usedBy: ["src/connectors/ghl/followers.ts"],
    });
    expect(find(after.entries, "coopel", "GET", "/contacts/")?.use).toBe(
      "unused",
    );
  });

  it("search needs every word, ignoring case", () => {
    const hits = searchCatalog(catalog.entries, {
      text: "GET contacts.READONLY tasks",
      system: "ghl",
    });
    expect(hits.length).toBeGreaterThan(0);
    for (const hit of hits) {
      expect(hit.method).toBe("GET");
      expect(hit.scopes).toContain("contacts.readonly");
    }
    expect(
      hits.some((h) => h.name === "/contacts/{contactId}/tasks/{taskId}"),
    ).toBe(true);
  });

  it("the catalog command prints JSON, filters to used entries and shows an example in --help", async () => {
    const all = await runCli(["catalog", "--json"]);
    expect(all.code).toBe(0);
    const parsed = JSON.parse(all.stdout);
    expect(parsed.entries).toHaveLength(catalog.entries.length);
    expect(parsed.counts).toEqual(catalog.counts);

    const used = await runCli(["catalog", "--json", "--used"]);
    const usedEntries = JSON.parse(used.stdout).entries as CatalogEntry[];
    expect(usedEntries.length).toBe(
      catalog.entries.filter((e) => e.use !== "unused").length,
    );
    expect(usedEntries.every((e) => e.use !== "unused")).toBe(true);

    const table = await runCli(["catalog", "--search", "contact tags"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain("/contacts/{contactId}/tags");

    const help = await runCli(["catalog", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Example");
    expect(help.stdout).toContain("Exit codes");

    const bad = await runCli(["catalog", "--system", "zapier"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("zapier");
  }, 120_000);
});
