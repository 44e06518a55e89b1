import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
} from "fastify";
import type { Logger } from "../engine/ports.js";
import type { Metrics } from "./metrics.js";

export interface ServerOptions {
  logger: Logger;
  metrics: Metrics;
  bodyLimitBytes: number;
  /** Returns null when the service is ready, or the reason it is not. */
  readiness: () => Promise<string | null>;
}

/**
 * Creates the HTTP server with the routes every role has: health, readiness
 * and metrics. JSON bodies are kept as raw bytes so that webhook signatures
 * can be checked over exactly what was sent.
 */
export function createServer(options: ServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimitBytes,
    // A client that stalls mid-request cannot hold a connection, or a shutdown, longer than this.
    requestTimeout: 30_000,
    routerOptions: { ignoreTrailingSlash: true },
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.addContentTypeParser(
    "application/json",
    { parseAs: "buffer" },
    (_request, body, done) => {
      done(null, body);
    },
  );

  app.get("/healthz", () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    const problem = await options.readiness();
    if (problem === null) return { status: "ready" };
    return reply.code(503).send({ status: "not_ready", reason: problem });
  });
  app.get("/metrics", async (_request, reply) => {
    const text = await options.metrics.registry.metrics();
    return reply
      .header("content-type", options.metrics.registry.contentType)
      .send(text);
  });
  return app;
}
