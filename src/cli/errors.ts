/** A bad flag value; the CLI prints the message and exits with the usage code. */
export class UsageError extends Error {
  override name = "UsageError";
}
