import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MappingPlan } from "../src/cli/mapping-test.js";
import { runCli } from "./helpers/cli.js";

let dir: string;
let configFile: string;
const fixtures = path.resolve(import.meta.dirname, "../fixtures/ghl/webhooks");

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "mapping-test-"));
  configFile = path.join(dir, "sync.config.yaml");
  writeFileSync(
    configFile,
    [
      "coopel:",
      "  base_url: http://127.0.0.1:9",
      "  token: t",
      "mapping:",
      "  contact:",
      "    dnd: { Email: dnd_email }",
      "  tag_rules:",
      "    - tag: from-form",
      "      when: \"$contains(source, 'form')\"",
      "",
    ].join("\n"),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function plan(name: string): Promise<MappingPlan> {
  const result = await runCli([
    "mapping",
    "test",
    "--config",
    configFile,
    "--event",
    path.join(fixtures, `${name}.json`),
    "--json",
  ]);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as MappingPlan;
}

describe("mapping test", () => {
  it("ContactCreate: one create with the mapped body, tags in it, then the rule tag", async () => {
    const result = await plan("ContactCreate");
    expect(result.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "POST /contacts/",
      "POST /contacts/planned-1/tags",
    ]);
    expect(result.requests[0]!.body).toMatchObject({
      first_name: "John",
      email: "johndeo@gmail.comm",
      date_of_birth: "2000-01-05",
      external_id: "nmFmQEsNgz6AVpgLVUJ0",
    });
    expect(result.requests[1]!.body).toEqual({ tags: ["from-form"] });
    expect(result.tagsAdded).toEqual([
      "id magna sed Lorem",
      "Duis dolor commodo aliqua",
      "from-form",
    ]);
    expect(result.tagsRemoved).toEqual([]);
  });

  it("ContactDndUpdate maps the Email channel", async () => {
    const result = await plan("ContactDndUpdate");
    expect(result.requests[0]!.body).toMatchObject({ dnd_email: true });
  });

  it.each(["ContactUpdate", "ContactTagUpdate"])(
    "%s of an unseen contact plans a create",
    async (name) => {
      const result = await plan(name);
      expect(result.requests[0]!.method).toBe("POST");
      expect(result.requests[0]!.path).toBe("/contacts/");
    },
  );

  it("ContactDelete of an unseen contact sends nothing", async () => {
    const result = await plan("ContactDelete");
    expect(result.requests).toEqual([]);
    expect(result.reason).toBe("unknown_contact");
  });

  it.each([
    ["TaskCreate", "/contacts/planned-1/tasks"],
    ["TaskComplete", "/contacts/planned-1/tasks"],
    ["NoteCreate", "/contacts/planned-1/notes"],
    ["NoteUpdate", "/contacts/planned-1/notes"],
  ])("%s plans the contact, then POST %s", async (name, taskPath) => {
    const result = await plan(name);
    // The contact is not read from GHL: it is planned with its id only, so no rule holds.
    expect(result.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "POST /contacts/",
      `POST ${taskPath}`,
    ]);
  });

  it("TaskComplete sends the task as completed", async () => {
    const result = await plan("TaskComplete");
    expect(result.requests[1]!.body).toEqual({
      title: "test",
      body: "testing",
      assigned_to: "bNl8QNGXhIQJLv8eeASQ",
      completed: true,
      due_date: "2021-12-22T06:55:00.000Z",
    });
  });

  it.each(["TaskDelete", "NoteDelete"])(
    "%s of an unseen record sends nothing",
    async (name) => {
      const result = await plan(name);
      expect(result.requests).toEqual([]);
      expect(result.outcome).toBe("skipped");
    },
  );

  it("prints a readable plan and rejects a missing file", async () => {
    const text = await runCli([
      "mapping",
      "test",
      "--config",
      configFile,
      "--event",
      path.join(fixtures, "NoteCreate.json"),
    ]);
    expect(text.stdout).toContain("1. POST /contacts/\n");
    expect(text.stdout).toContain('"body": "Loram ipsum"');
    const missing = await runCli([
      "mapping",
      "test",
      "--config",
      configFile,
      "--event",
      path.join(dir, "nope.json"),
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /nope\.json: cannot read the file \(ENOENT\)/,
    );
  });
});
