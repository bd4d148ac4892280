/**
 * What a sanitized mail body must never contain, checked two independent ways: a small regex
 * tokenizer of our own over the serialized text (so a blind spot in lol-html is not also a blind spot
 * in the test), and a real parse of the output with HTMLRewriter (so tags, attributes and style sheets
 * are judged as a parser splits them, not by pattern alone).
 */
import { expect } from "vitest";

/** Every element the sanitizer may emit; anything else in the output means a tag got through. */
export const ALLOWED_TAGS = new Set(
  (
    "html head body style div span p br hr a img area map font center blockquote pre code b i u s em strong " +
    "small big sub sup strike tt mark abbr acronym cite dfn kbd samp var q del ins h1 h2 h3 h4 h5 h6 ul ol li " +
    "dl dt dd dir menu table caption colgroup col thead tbody tfoot tr th td article aside header footer main " +
    "nav section address figure figcaption hgroup search details summary fieldset legend label time data bdi " +
    "bdo ruby rt rp wbr nobr picture listing"
  ).split(" "),
);

/** Start tags and their attributes, read with a regex tokenizer. */
export function startTags(html: string): { name: string; attrs: [string, string][] }[] {
  const tags: { name: string; attrs: [string, string][] }[] = [];
  for (const m of html.matchAll(/<([a-zA-Z][^\s/>]*)((?:[^>"']|"[^"]*"|'[^']*')*)>?/g)) {
    const attrs: [string, string][] = [];
    for (const a of (m[2] ?? "").matchAll(/([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]*)))?/g)) {
      attrs.push([a[1]!.toLowerCase(), a[2] ?? a[3] ?? a[4] ?? ""]);
    }
    tags.push({ name: m[1]!.toLowerCase(), attrs });
  }
  return tags;
}

/**
 * Named references that spell ASCII (URL schemes, CSS punctuation). Matched in any case and with or
 * without `;`: deliberately generous, so that more, not less, looks dangerous.
 */
const NAMED: Record<string, string> = {
  colon: ":",
  tab: "\t",
  newline: "\n",
  lpar: "(",
  rpar: ")",
  sol: "/",
  bsol: "\\",
  quot: '"',
  apos: "'",
  amp: "&",
  lt: "<",
  gt: ">",
  excl: "!",
  num: "#",
  percnt: "%",
  period: ".",
  comma: ",",
  semi: ";",
  equals: "=",
  quest: "?",
  commat: "@",
  ast: "*",
  plus: "+",
  lowbar: "_",
  grave: "`",
  lcub: "{",
  rcub: "}",
  lsqb: "[",
  rsqb: "]",
  verbar: "|",
};

/** Decodes character references once, as a browser does for an attribute value. */
export function decode(value: string): string {
  return value
    .replace(/&#x([0-9a-f]+);?/gi, (_m, h: string) => String.fromCodePoint(Math.min(parseInt(h, 16), 0x10ffff)))
    .replace(/&#(\d+);?/g, (_m, d: string) => String.fromCodePoint(Math.min(parseInt(d, 10), 0x10ffff)))
    .replace(/&([a-z]+);?/gi, (m, n: string) => NAMED[n.toLowerCase()] ?? m);
}

/** Whitespace and control characters gone everywhere (browsers ignore some anywhere in a URL), lower case. */
export const squash = (s: string) => s.replace(/[\x00-\x20\x7f-\x9f]/g, "").toLowerCase();

/** CSS as an old engine would read it: comments gone, escapes decoded until nothing changes. */
function flattenCss(css: string): string {
  let flat = css.replace(/\/\*[\s\S]*?(\*\/|$)/g, "");
  for (let previous = ""; previous !== flat;) {
    previous = flat;
    flat = flat
      .replace(/\\([0-9a-f]{1,6})\s?/gi, (_m, h: string) => String.fromCodePoint(Math.min(parseInt(h, 16), 0x10ffff)))
      .replace(/\\([^0-9a-f])/gi, "$1");
  }
  return squash(flat);
}

/** Problems of a style sheet or style attribute (already entity-decoded), as readable strings. */
function cssProblems(css: string, remoteAllowed: boolean): string[] {
  const flat = flattenCss(css);
  const problems: string[] = [];
  const danger = /expression\(|@import|-moz-binding|behaviou?r:|javascript:|vbscript:|livescript:|image-set\(/.exec(
    flat,
  );
  if (danger) problems.push(`CSS has ${danger[0]}`);
  for (const m of flat.matchAll(/url\(([^)]*)/g)) {
    if (!(remoteAllowed ? /^"(\/api\/inline\/|https?:)/ : /^"\/api\/inline\//).test(m[1]!)) {
      problems.push(`CSS loads url(${m[1]})`);
    }
  }
  return problems;
}

function expectSafeCss(css: string, remoteAllowed: boolean): void {
  expect(cssProblems(css, remoteAllowed)).toEqual([]);
}

/** Attributes that are only ever shown as text, never followed or fetched. */
const TEXT_ONLY_ATTRS = new Set(["title", "alt"]);

/** The whole contract of a sanitized body, checked against serialized output with the regex tokenizer. */
export function expectInert(html: string, remoteAllowed: boolean): void {
  expect(html).not.toMatch(
    /<(script|iframe|frame|object|embed|applet|base|meta|link|form|input|button|select|textarea|svg|math|template|portal|audio|video|source|noscript|xmp|plaintext|title|image|isindex)\b/i,
  );
  for (const tag of startTags(html)) {
    expect(ALLOWED_TAGS, `<${tag.name}> in ${html}`).toContain(tag.name);
    for (const [name, value] of tag.attrs) {
      expect(name, `attribute ${name} in ${html}`).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(name).not.toMatch(/^on|^(srcdoc|formaction|action|ping|http-equiv|xmlns|attributionsrc)$/);
      const flat = squash(decode(value));
      // Any attribute might be followed as a URL by some engine, except text a browser only shows.
      if (!TEXT_ONLY_ATTRS.has(name)) {
        expect(flat, `${name}="${value}"`).not.toMatch(/^(javascript|vbscript|livescript|data|file):|(java|vb)script:/);
      }
      if (name === "style") expectSafeCss(decode(value), remoteAllowed);
      if (["src", "background", "srcset"].includes(name) && !remoteAllowed) expect(flat).not.toMatch(/https?:/);
    }
  }
  for (const m of html.matchAll(/<style\b[^>]*>([\s\S]*?)(?:<\/style|$)/gi)) expectSafeCss(m[1]!, remoteAllowed);
}

/** Elements that run script, embed a document or plugin, submit, retarget or refresh the page. */
const DANGEROUS_TAGS = new Set(
  "script iframe frame frameset object embed applet form input button base meta link portal fencedframe noscript template".split(
    " ",
  ),
);

/** Attributes whose value a browser follows, fetches or submits to. */
const URL_ATTRS = new Set(
  "href src srcset action formaction xlink:href background cite longdesc poster data codebase lowsrc dynsrc folder usemap ping manifest icon profile archive classid".split(
    " ",
  ),
);

const SCRIPT_OR_DATA_SCHEME = /^(javascript|vbscript|livescript|data|file):/;
const HTML_NS = "http://www.w3.org/1999/xhtml";

/**
 * Parses a sanitized body with HTMLRewriter and returns everything wrong with it (empty when it is
 * inert): elements outside the allow-list or the HTML namespace (svg, math and their children),
 * event handlers, script or data URLs in any URL attribute after decoding references and dropping
 * whitespace and control characters, remote loads when they are blocked, dangerous CSS in style
 * attributes and in `<style>` text, and comments (the sanitizer removes all of them).
 */
export async function parsedProblems(html: string, remoteAllowed: boolean): Promise<string[]> {
  const problems: string[] = [];
  let styleText = "";
  await new HTMLRewriter()
    .on("*", {
      element(el) {
        const tag = el.tagName;
        if (el.namespaceURI !== HTML_NS) problems.push(`<${tag}> in ${el.namespaceURI}`);
        if (DANGEROUS_TAGS.has(tag)) problems.push(`<${tag}>`);
        else if (!ALLOWED_TAGS.has(tag) && tag !== "pre") problems.push(`<${tag}> is not allowed`);
        if (tag === "meta" && /refresh/i.test(el.getAttribute("http-equiv") ?? "")) problems.push("meta refresh");
        for (const [name, raw] of el.attributes) {
          if (name === undefined || raw === undefined) continue;
          const value = decode(raw);
          const flat = squash(value);
          if (/^on/i.test(name)) problems.push(`<${tag} ${name}>`);
          if (!/^[a-z][a-z0-9-]*$/.test(name)) problems.push(`<${tag}> attribute name ${JSON.stringify(name)}`);
          if (URL_ATTRS.has(name)) {
            const urls =
              name === "srcset" ? value.split(",").map((c) => squash(c.trim().split(/\s+/)[0] ?? "")) : [flat];
            for (const url of urls) {
              if (SCRIPT_OR_DATA_SCHEME.test(url)) problems.push(`<${tag} ${name}=${url.slice(0, 40)}>`);
              if (!remoteAllowed && ["src", "srcset", "background"].includes(name) && /^(https?:)?\/\//.test(url)) {
                problems.push(`<${tag} ${name}> loads ${url.slice(0, 40)} while remote images are blocked`);
              }
            }
          }
          if (name === "style") problems.push(...cssProblems(value, remoteAllowed).map((p) => `style attribute: ${p}`));
        }
      },
    })
    .on("style", {
      text(chunk) {
        styleText += chunk.text;
        if (chunk.lastInTextNode) {
          problems.push(...cssProblems(styleText, remoteAllowed).map((p) => `<style>: ${p}`));
          styleText = "";
        }
      },
    })
    .onDocument({
      comments(comment) {
        problems.push(`comment <!--${comment.text.slice(0, 40)}-->`);
      },
      end() {
        if (styleText) problems.push(...cssProblems(styleText, remoteAllowed).map((p) => `<style>: ${p}`));
      },
    })
    .transform(new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } }))
    .text();
  return problems;
}
