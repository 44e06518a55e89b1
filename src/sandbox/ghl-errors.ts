/** A GHL API error with the status and JSON body that the real API sends. */
export class GhlApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(
      Array.isArray(body.message)
        ? body.message.join("; ")
        : String(body.message),
    );
    this.name = "GhlApiError";
  }
}

/** Builds the 422 error that the API returns for a body that fails validation. */
export function unprocessable(messages: string[]): GhlApiError {
  return new GhlApiError(422, {
    statusCode: 422,
    message: messages,
    error: "Unprocessable Entity",
  });
}
