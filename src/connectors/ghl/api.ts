import { ApiError } from "../../engine/errors.js";
import type { CallContext, GhlApi, GhlRecord } from "../../engine/ports.js";
import { messageOf, type GhlHttpClient } from "./client.js";

/** The GhlApi port on GHL's REST API v2. */
export class GhlRestApi implements GhlApi {
  constructor(private readonly http: GhlHttpClient) {}

  async getContact(
    locationId: string,
    contactId: string,
    context: CallContext,
  ): Promise<GhlRecord | null> {
    try {
      const response = await this.http.request(
        locationId,
        "GET",
        `/contacts/${encodeURIComponent(contactId)}`,
        {
          context,
        },
      );
      return recordIn(response, "contact");
    } catch (error) {
      if (error instanceof ApiError && isNotFound(error)) return null;
      throw error;
    }
  }
}

/**
 * GHL reports a missing record as 404, or as 400 with a "not found"
 * message on some routes.
 */
export function isNotFound(error: ApiError): boolean {
  if (error.status === 404) return true;
  return error.status === 400 && /not found/i.test(messageOf(error.body));
}

function recordIn(response: unknown, key: string): GhlRecord | null {
  if (response === null || typeof response !== "object") return null;
  const inner = (response as Record<string, unknown>)[key];
  return inner !== null && typeof inner === "object"
    ? (inner as GhlRecord)
    : null;
}
