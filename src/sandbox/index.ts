export { startCoopelSandbox } from "./coopel-sandbox.js";
export type { CoopelSandbox, CoopelSandboxOptions } from "./coopel-sandbox.js";
export type {
  CoopelAppointment,
  CoopelContact,
  CoopelNote,
  CoopelTask,
} from "./coopel-store.js";
export { buildCoopelOpenApi } from "./coopel-openapi.js";
export { GHL_API_VERSION, startGhlSandbox } from "./ghl-sandbox.js";
export type {
  GhlSandbox,
  GhlSandboxLocation,
  GhlSandboxOptions,
} from "./ghl-sandbox.js";
export { GhlApiError } from "./ghl-errors.js";
export type {
  GhlContact,
  GhlContactInput,
  GhlCustomFieldValue,
} from "./ghl-contact-fields.js";
export type { CreateContactOptions, GhlNote, GhlTask } from "./ghl-store.js";
export type { GhlOAuthOptions } from "./ghl-oauth.js";
export { GHL_DOCUMENTED_RATE_LIMITS } from "./ghl-rate-limit.js";
export type { GhlRateLimits } from "./ghl-rate-limit.js";
export {
  buildContactWebhookPayload,
  contactWebhookFields,
  CONTACT_WEBHOOK_FIELDS,
} from "./ghl-webhook-payload.js";
export type { ContactWebhookType } from "./ghl-webhook-payload.js";
export {
  findPackageRoot,
  loadSandboxSigningKeys,
  signWebhookBody,
} from "./webhook-signing.js";
export type {
  SandboxSigningKeys,
  SignatureAlgorithm,
  WebhookSignatureHeaders,
} from "./webhook-signing.js";
export { sendWebhook, withDeliveryIds } from "./webhook-sender.js";
export type { SendWebhookOptions, WebhookDelivery } from "./webhook-sender.js";
export { FaultInjector } from "./faults.js";
export type {
  FaultConfig,
  FaultDecision,
  LatencySpec,
  RouteFaults,
} from "./faults.js";
export type {
  FaultKind,
  RecordedRequest,
  RequestPattern,
} from "./request-log.js";
export type { SandboxServerOptions } from "./sandbox-server.js";
export { runDemoTraffic } from "./demo-traffic.js";
export type {
  DemoEvent,
  DemoTrafficOptions,
  DemoTrafficProgress,
  DemoTrafficResult,
} from "./demo-traffic.js";
export { createSeededRandom } from "./random.js";
export type { RandomSource } from "./random.js";
