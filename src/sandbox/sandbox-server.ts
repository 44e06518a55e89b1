import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import {
  FaultInjector,
  registerFaultHooks,
  type FaultConfig,
} from "./faults.js";
import { RequestLog } from "./request-log.js";

/** Options shared by both sandboxes. */
export interface SandboxServerOptions {
  /** Listen address; only loopback addresses are accepted. Default 127.0.0.1. */
  host?: string;
  /** Listen port; default 0, which picks a free port. */
  port?: number;
  faults?: FaultConfig;
  /** Logger for the Fastify server; default false (no logging). */
  logger?: false | Logger;
  /** Maximum number of requests kept in the request log; default 100 000. */
  maxRecordedRequests?: number;
}

/** A Fastify app with the request log and fault hooks already registered. */
export interface SandboxServer {
  app: FastifyInstance;
  requestLog: RequestLog;
  faults: FaultInjector;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "::1", "localhost"]);

/** Creates the Fastify app of a sandbox; routes are added by the caller before `listenOnLoopback`. */
export function createSandboxServer(
  options: SandboxServerOptions,
): SandboxServer {
  const loggerInstance: FastifyBaseLogger | undefined =
    options.logger || undefined;
  const app = Fastify({
    ...(loggerInstance ? { loggerInstance } : { logger: false }),
    // Destroys open sockets on close, including requests held open by a timeout fault.
    forceCloseConnections: true,
    routerOptions: { ignoreTrailingSlash: true },
    bodyLimit: 5 * 1024 * 1024,
  });
  const requestLog = new RequestLog(options.maxRecordedRequests);
  const faults = new FaultInjector(options.faults);
  requestLog.register(app);
  registerFaultHooks(app, faults, (request, kind) => {
    requestLog.markFault(request, kind);
    request.log.info(
      { fault: kind, method: request.method, url: request.url },
      "sandbox injected a fault",
    );
  });
  registerFaultAdminRoutes(app, faults);
  return { app, requestLog, faults };
}

/** Path prefix of the sandbox's own control routes, which skip faults, auth and version checks. */
export const SANDBOX_ADMIN_PREFIX = "/_sandbox/";

/**
 * Adds `GET /_sandbox/faults` (the current settings) and `PUT
 * /_sandbox/faults` (a FaultConfig body replaces them, `null` removes them),
 * so that faults can be switched on a running sandbox. Invalid settings get
 * 400 with the reason.
 */
function registerFaultAdminRoutes(
  app: FastifyInstance,
  faults: FaultInjector,
): void {
  app.get(`${SANDBOX_ADMIN_PREFIX}faults`, () => ({
    faults: faults.config ?? null,
  }));
  app.put(`${SANDBOX_ADMIN_PREFIX}faults`, (request, reply) => {
    const body = request.body as FaultConfig | null | undefined;
    if (
      body !== null &&
      (typeof body !== "object" ||
        body === undefined ||
        typeof body.routes !== "object" ||
        body.routes === null)
    ) {
      return reply.code(400).send({
        error: "invalid_faults",
        message:
          'send a JSON object {"seed"?: number, "routes": {"METHOD /path": {...}}}, or null to remove every fault',
      });
    }
    try {
      faults.setConfig(body ?? undefined);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      return reply
        .code(400)
        .send({ error: "invalid_faults", message: error.message });
    }
    return { faults: faults.config ?? null };
  });
}

/** Starts listening and returns the base URL, e.g. `http://127.0.0.1:41234`. */
export async function listenOnLoopback(
  app: FastifyInstance,
  options: SandboxServerOptions,
): Promise<string> {
  const host = options.host ?? "127.0.0.1";
  if (!LOOPBACK_HOSTS.has(host)) {
    throw new Error(
      `Sandbox host must be a loopback address (127.0.0.1, ::1 or localhost), got "${host}"`,
    );
  }
  await app.listen({ host, port: options.port ?? 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") {
    throw new Error(
      `Sandbox server has no TCP address after listen: ${String(address)}`,
    );
  }
  const urlHost =
    address.family === "IPv6" ? `[${address.address}]` : address.address;
  return `http://${urlHost}:${address.port}`;
}

/** Returns the bearer token of an `Authorization` header, or undefined when there is none. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1];
}
