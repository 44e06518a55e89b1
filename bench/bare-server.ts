// The baseline of the intake benchmark: a Fastify route that answers 200 with
// the same body handling as the real receiver, and does nothing else.
import Fastify from "fastify";

const app = Fastify({ logger: false, bodyLimit: 1_048_576 });
app.addContentTypeParser(
  "application/json",
  { parseAs: "buffer" },
  (_request, body, done) => done(null, body),
);
app.post("/webhooks/ghl", () => ({ status: "accepted" }));
const url = await app.listen({ host: "127.0.0.1", port: 0 });
process.stdout.write(`${JSON.stringify({ url, mode: "bare" })}\n`);
process.once("SIGTERM", () => {
  void app.close().then(() => process.exit(0));
});
