import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { startProgress } from "../src/cli/progress.js";

function fakeStream(isTTY: boolean): {
  stream: NodeJS.WriteStream;
  text: () => string;
} {
  let text = "";
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY, columns: 120 });
  return { stream, text: () => text };
}

describe("progress bar", () => {
  it("shows count, rate and time left on a terminal", () => {
    const { stream, text } = fakeStream(true);
    const progress = startProgress("rules apply", 4, "contacts", stream);
    progress.increment();
    progress.increment(3);
    progress.stop();
    progress.stop();
    expect(text()).toContain("rules apply [");
    expect(text()).toContain("4/4 contacts");
    expect(text()).toMatch(/\d+\.\d\/s/);
    expect(text()).toContain("left");
  });

  it("writes nothing when the output is no terminal", () => {
    const { stream, text } = fakeStream(false);
    const progress = startProgress("replay", 10, "jobs", stream);
    progress.increment(10);
    progress.stop();
    expect(text()).toBe("");
  });
});
