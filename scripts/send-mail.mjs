// Delivers a message to a hosted address of the local `npm run dev`, through wrangler's local
// email endpoint (/cdn-cgi/handler/email?from=<MAIL FROM>&to=<RCPT TO>, raw MIME as the body), the
// way Cloudflare Email Routing hands mail to the Worker's email() handler.
//
//   npm run mail:send -- --to brand@hosted.postroom.test [--from "Ana <ana@example.com>"]
//     [--subject TEXT] [--text TEXT] [--in-reply-to ID] [--references "ID ID"] [--eml FILE]
//     [--url http://127.0.0.1:8787]
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    to: { type: "string" },
    from: { type: "string", default: "Ana Customer <ana@example.com>" },
    subject: { type: "string", default: "Hello from the development mail sender" },
    text: { type: "string", default: "This message was delivered with npm run mail:send." },
    "in-reply-to": { type: "string" },
    references: { type: "string" },
    eml: { type: "string" },
    url: { type: "string", default: "http://127.0.0.1:8787" },
  },
});

if (!values.to) {
  console.error('Usage: npm run mail:send -- --to brand@hosted.postroom.test [--from "Ana <ana@example.com>"] ...');
  process.exit(2);
}

const envelopeFrom = /<([^>]+)>/.exec(values.from)?.[1] ?? values.from;
const bracket = (id) => (id.startsWith("<") ? id : `<${id}>`);
const raw = values.eml
  ? readFileSync(values.eml)
  : Buffer.from(
      [
        `From: ${values.from}`,
        `To: ${values.to}`,
        `Subject: ${values.subject}`,
        `Date: ${new Date().toUTCString().replace("GMT", "+0000")}`,
        `Message-ID: <${randomBytes(12).toString("hex")}@${envelopeFrom.split("@")[1] ?? "example.com"}>`,
        ...(values["in-reply-to"] ? [`In-Reply-To: ${bracket(values["in-reply-to"])}`] : []),
        ...(values.references ? [`References: ${values.references.split(/\s+/).map(bracket).join(" ")}`] : []),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        values.text,
        "",
      ].join("\r\n"),
    );

const query = new URLSearchParams({ from: envelopeFrom, to: values.to });
let res;
try {
  res = await fetch(`${values.url}/cdn-cgi/handler/email?${query}`, { method: "POST", body: raw });
} catch {
  console.error(`Nothing answers at ${values.url}; start the app with npm run dev first.`);
  process.exit(1);
}
const body = (await res.text()).trim();
console.log(res.ok ? `✓ ${body} (${raw.byteLength} bytes to ${values.to})` : `✗ ${res.status}: ${body}`);
process.exit(res.ok ? 0 : 1);
