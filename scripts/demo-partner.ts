/**
 * A partner site on its own origin, as a partner would build one: a small Node server that makes an
 * ES256 key pair when it starts, publishes the public half as a JWKS, signs short embed tokens for
 * its signed-in user, and serves a page that embeds the inbox with Postroom's one script tag.
 *
 * `npm run dev` runs it for the demo account's "Demo partner portal" (scripts/seed.sql); the browser
 * tests start it in-process with `startPartnerSite`.
 *
 *   tsx scripts/demo-partner.ts --port 8790 --postroom http://127.0.0.1:8787 --partner <id> --inbox sales@demo.test
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { parseArgs } from "node:util";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

export interface PartnerSiteOptions {
  port: number;
  /** Postroom's origin: where embed.js comes from, and the tokens' audience. */
  postroom: string;
  partnerId?: string;
  inbox?: string;
  user?: { id: string; name: string };
  permissions?: string[];
  contact?: string;
  /** Token lifetime in seconds (Postroom accepts at most 900). */
  lifetime?: number;
}

export interface PartnerSite {
  origin: string;
  jwksUrl: string;
  /** How many tokens the page asked for (the first, and one per expiry). */
  tokensIssued(): number;
  /** Sets or changes whose partner id and inbox the tokens name. */
  configure(
    change: Partial<Pick<PartnerSiteOptions, "partnerId" | "inbox" | "permissions" | "contact" | "lifetime">>,
  ): void;
  /** A token as the page gets it (also for tests that post one by hand). */
  token(): Promise<string>;
  close(): Promise<void>;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!);

/** The partner's page. Its own styles are deliberately loud: none of them may reach the widget. */
function page(postroom: string, user: string): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Brand Portal</title>
    <style>
      body { margin: 0; font-family: Georgia, serif; background: #fdf6ec; color: #402a0c; }
      header { padding: 16px 24px; background: #402a0c; color: #fdf6ec; }
      main { max-width: 820px; margin: 24px auto; padding: 0 16px; }
      /* Hostile to anything it could reach: the embedded inbox must look the same regardless. */
      button, textarea, p, li, h1 { font-family: "Comic Sans MS", cursive !important; color: #d10 !important; }
      iframe { border: 6px dashed #d10 !important; }
      #inbox { height: 620px; }
    </style>
  </head>
  <body>
    <header><strong>Brand Portal</strong> · signed in as ${escapeHtml(user)}</header>
    <main>
      <h1>Your conversations with the brand team</h1>
      <div id="inbox"></div>
    </main>
    <script src="${escapeHtml(postroom)}/embed.js"></script>
    <script src="/page.js"></script>
  </body>
</html>`;
}

const pageScript = `
const getToken = () => fetch("/token", { cache: "no-store" }).then((r) => r.text());
getToken().then((token) => {
  window.postroomWidget = Postroom.mount(document.getElementById("inbox"), { token, onTokenExpired: getToken });
});
`;

export async function startPartnerSite(options: PartnerSiteOptions): Promise<PartnerSite> {
  const settings = { lifetime: 600, permissions: ["read", "reply", "notes"], ...options };
  const user = settings.user ?? { id: "creator-42", name: "Maya Chen" };
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const kid = randomUUID();
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" }] });
  let issued = 0;

  const sign = async (): Promise<string> => {
    if (!settings.partnerId || !settings.inbox) throw new Error("the partner site has no partner id or inbox yet");
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      name: user.name,
      inbox: settings.inbox,
      permissions: settings.permissions,
      ...(settings.contact ? { contact: settings.contact } : {}),
    })
      .setProtectedHeader({ alg: "ES256", kid })
      .setIssuer(settings.partnerId)
      .setAudience(settings.postroom)
      .setSubject(user.id)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + settings.lifetime)
      .sign(privateKey);
  };

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://partner").pathname;
    if (path === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(page(settings.postroom, user.name));
    } else if (path === "/page.js") {
      res.writeHead(200, { "content-type": "text/javascript" });
      res.end(pageScript);
    } else if (path === "/.well-known/jwks.json") {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "max-age=300" });
      res.end(jwks);
    } else if (path === "/token") {
      // A real partner signs only for its own signed-in user; this demo's user is fixed.
      sign().then(
        (token) => {
          issued += 1;
          res.writeHead(200, { "content-type": "text/plain", "cache-control": "no-store" });
          res.end(token);
        },
        (err: Error) => {
          res.writeHead(503, { "content-type": "text/plain" });
          res.end(err.message);
        },
      );
    } else {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(settings.port, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const origin = `http://127.0.0.1:${typeof address === "object" && address ? address.port : settings.port}`;
  return {
    origin,
    jwksUrl: `${origin}/.well-known/jwks.json`,
    tokensIssued: () => issued,
    configure(change) {
      Object.assign(settings, change);
    },
    token: sign,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "8790" },
      postroom: { type: "string", default: "http://127.0.0.1:8787" },
      partner: { type: "string" },
      inbox: { type: "string", default: "sales@demo.test" },
    },
  });
  const site = await startPartnerSite({
    port: Number(values.port),
    postroom: values.postroom!,
    ...(values.partner ? { partnerId: values.partner } : {}),
    inbox: values.inbox!,
  });
  console.log(`demo partner site at ${site.origin} (JWKS ${site.jwksUrl})`);
}
