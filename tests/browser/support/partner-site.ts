/**
 * Partner pages for the widget's browser tests: the real demo partner site (scripts/demo-partner.ts:
 * its own ES256 keys, JWKS and token endpoint, and a page embedding the inbox), and a site on yet
 * another origin that tries to frame the widget or talk to it without being allowed.
 */
import { createServer, type Server } from "node:http";

export { startPartnerSite, type PartnerSite } from "../../../scripts/demo-partner";

export interface OtherSite {
  origin: string;
  close(): Promise<void>;
}

/** A page that embeds the widget with the loader and a token it should not have. */
const loaderPage = (postroom: string) => `<!doctype html><html><body>
<h1>Not a partner</h1><div id="inbox" style="height:500px"></div>
<script src="${postroom}/embed.js"></script>
<script>
  const token = decodeURIComponent(location.hash.slice(1));
  Postroom.mount(document.getElementById("inbox"), { token });
</script></body></html>`;

/** A page that frames the widget's page directly, claiming to be the partner (?src=). */
const framePage = `<!doctype html><html><body><h1>Framing</h1>
<iframe id="victim" style="width:600px;height:400px"></iframe>
<script>document.getElementById("victim").src = new URLSearchParams(location.search).get("src");</script>
</body></html>`;

/**
 * The attacker, on this origin: posts a (valid) token to every window it can reach (sibling frames,
 * and its opener when the widget itself was made to open it), and a token-expired message to the page
 * that frames it.
 */
const attackerPage = `<!doctype html><html><body><p>attacker</p><script>
  const token = decodeURIComponent(location.hash.slice(1));
  const targets = [];
  if (parent !== window) for (let i = 0; i < parent.frames.length; i++) if (parent.frames[i] !== window) targets.push(parent.frames[i]);
  if (window.opener) targets.push(window.opener);
  for (const t of targets) t.postMessage({ type: "postroom:token", token }, "*");
  if (parent !== window) parent.postMessage({ type: "postroom:token-expired" }, "*");
  document.title = "posted to " + targets.length + (parent !== window ? " and parent" : "");
</script></body></html>`;

export async function startOtherSite(postroom: string): Promise<OtherSite> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://other").pathname;
    const body =
      path === "/loader"
        ? loaderPage(postroom)
        : path === "/frame"
          ? framePage
          : path === "/attacker"
            ? attackerPage
            : null;
    res.writeHead(body ? 200 : 404, { "content-type": "text/html; charset=utf-8" });
    res.end(body ?? "not found");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
