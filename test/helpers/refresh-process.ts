// Opens a store file and asks for one location's token from many callers at
// once, as a second service process would. Prints the tokens it got as JSON.
import pino from "pino";
import { GhlOAuthClient } from "../../src/connectors/ghl/oauth-client.js";
import { OAuthTokenSource } from "../../src/connectors/ghl/oauth-tokens.js";
import { SecretBox } from "../../src/security/secret-box.js";
import { SqliteConnectionStore } from "../../src/store/sqlite/connections.js";
import { openSqlite } from "../../src/store/sqlite/database.js";

const [file, ghlUrl, locationId, callers, startAt] = process.argv.slice(2);
const db = openSqlite({ file: file!, synchronous: "normal" });
const tokens = new OAuthTokenSource({
  store: new SqliteConnectionStore(db),
  box: new SecretBox(Buffer.from(process.env.TEST_KEY_HEX!, "hex")),
  oauth: new GhlOAuthClient({
    clientId: process.env.TEST_CLIENT_ID!,
    clientSecret: process.env.TEST_CLIENT_SECRET!,
    baseUrl: ghlUrl!,
    apiVersion: "2021-07-28",
    timeoutMs: 5000,
  }),
  logger: pino({ level: "silent" }),
});
// Both processes start their callers at the same wall-clock time.
await new Promise((resolve) =>
  setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())),
);
const results = await Promise.all(
  Array.from({ length: Number(callers) }, () => tokens.getToken(locationId!)),
);
process.stdout.write(JSON.stringify(results));
db.close();
