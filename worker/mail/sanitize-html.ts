/**
 * Makes an HTML mail body safe to show, in one streaming allow-list pass with the runtime's HTMLRewriter
 * (lol-html). The result is meant for a sandboxed iframe (no allow-scripts, no allow-same-origin) served
 * with {@link emailBodyCsp}: the sanitizer and the sandbox are independent layers, each meant to be
 * enough on its own against script.
 *
 * What the output is: the document as given, minus everything not allowed. `<html>`, `<head>` and
 * `<body>` tags stay if the mail had them, because mail puts its `<style>` in `<head>`; a doctype stays
 * as written, minus any `<` in it (HTMLRewriter cannot remove one, and it decides standards versus
 * quirks rendering). Comments (including Outlook's conditional comments) are removed. Every `<` in the
 * output starts a real tag: text, attribute values and style sheets carry none of their own.
 *
 * HTMLRewriter behaviours this file is built around (each is checked in tests/worker/sanitize-html.test.ts):
 * - attribute values come back raw, with character references NOT decoded (`&#106;avascript:` is
 *   returned as written), so URL and CSS checks decode them here first;
 * - `setAttribute` escapes only `"`, so a value decoded here is re-escaped before it is set;
 * - duplicate attributes are all kept, and `removeAttribute` drops only the first (the browser obeys
 *   the first), so duplicates are collapsed before anything else;
 * - removing a node splices the text around it (`<<!---->img onerror=...>` becomes a tag), so every
 *   `<` in text is escaped;
 * - a tag still open at the end of the input is copied out raw without reaching any handler, so a
 *   sentinel that closes any open tag is appended to the input;
 * - `<noscript>` is raw text to it, but markup to a browser with scripting off (our sandbox), so its
 *   text is sanitized again as HTML and the noscript tags themselves are dropped.
 */

export interface SanitizeOptions {
  /**
   * Map of Content-ID (without <>) to a URL the app serves that inline image from; cid: references not
   * in the map are dropped. The URLs should be same-origin paths (`/...`) or http(s) on the app's
   * origin, which is what {@link emailBodyCsp} lets load; any other scheme is refused.
   */
  inlineImages: Record<string, string>;
  /**
   * When false (the default view), remote http(s) images are not loaded: their src is removed and kept
   * in data-blocked-src, and the result says some were blocked.
   */
  allowRemoteImages: boolean;
}

export interface SanitizedHtml {
  html: string;
  /**
   * How many remote image references were withheld: each img (src or srcset), each `background`
   * attribute and each CSS `url()`. Always 0 when remote images are allowed.
   */
  blockedRemoteImages: number;
}

const HTML_NS = "http://www.w3.org/1999/xhtml";

/**
 * Removed with everything inside them: script and plugin hosts, frames, form controls, page-level
 * metadata (base, meta refresh, link), foreign content (svg and math are script and mXSS vectors),
 * media, and raw-text elements a browser never shows.
 */
const DROP = new Set([
  "script",
  "iframe",
  "frame",
  "frameset",
  "fencedframe",
  "portal",
  "object",
  "embed",
  "applet",
  "param",
  "input",
  "button",
  "select",
  "textarea",
  "option",
  "optgroup",
  "datalist",
  "keygen",
  "base",
  "basefont",
  "meta",
  "link",
  "title",
  "svg",
  "math",
  "template",
  "audio",
  "video",
  "source",
  "track",
  "bgsound",
  "noembed",
  "noframes",
]);

/** Rendered as they are, with their attributes checked. Anything else is unwrapped: its tags go, its content stays. */
const KEEP = new Set([
  ..."html head body style div span p br hr a img area map font center blockquote pre code".split(" "),
  ..."b i u s em strong small big sub sup strike tt mark abbr acronym cite dfn kbd samp var q del ins".split(" "),
  ..."h1 h2 h3 h4 h5 h6 ul ol li dl dt dd dir menu table caption colgroup col thead tbody tfoot tr th td".split(" "),
  ..."article aside header footer main nav section address figure figcaption hgroup search details".split(" "),
  ..."summary fieldset legend label time data bdi bdo ruby rt rp wbr nobr picture listing".split(" "),
]);

/** Raw-text elements a browser shows as text: kept as <pre> with their text escaped. */
const AS_PRE = new Set(["xmp", "plaintext"]);

/** Kept elements that never have an end tag (HTMLRewriter throws if asked for one). */
const VOID = new Set(["area", "br", "col", "hr", "img", "wbr"]);

/** Only plain lower-case names (lol-html lower-cases them): no `xlink:href`, `xmlns:o`, or `onerror\v`. */
const ATTR_NAME = /^[a-z][a-z0-9-]*$/;

/**
 * Attributes that act (submit, ping, fetch, embed a document) or that this module owns. `target` and
 * `rel` are set by us on links; `lowsrc` and `dynsrc` are dead IE image sources and `folder` a dead IE
 * link target (followed as a URL, script ones included), simply dropped.
 */
const DENY_ATTR = new Set([
  "srcdoc",
  "formaction",
  "action",
  "ping",
  "attributionsrc",
  "http-equiv",
  "xmlns",
  "manifest",
  "codebase",
  "classid",
  "archive",
  "data",
  "profile",
  "icon",
  "lowsrc",
  "dynsrc",
  "folder",
  "poster",
  "is",
  "nonce",
  "target",
  "rel",
  "referrerpolicy",
  "datasrc",
  "datafld",
  "data-blocked-src",
  "data-blocked-background",
]);

/** Link-like attributes: followed on click or never fetched, so mail, phone and web links are fine. */
const LINK_ATTRS = new Set(["href", "cite", "longdesc"]);

/**
 * Appended to every input: it ends any tag, attribute value or comment left open, so that the tag is
 * tokenized (and sanitized) instead of copied out raw; in plain text it is a comment, which is removed.
 */
const EOF_SENTINEL = `<!--'"postroom-eof-->`;

/** Nested <noscript> is sanitized this many levels deep; anything deeper is dropped. */
const MAX_NOSCRIPT_DEPTH = 3;

interface Pass {
  options: SanitizeOptions;
  blocked: number;
}

/**
 * Sanitizes an HTML mail body for display in a sandboxed iframe.
 *
 * @example
 * const { html, blockedRemoteImages } = await sanitizeEmailHtml(mail.html, {
 *   inlineImages: { "logo@acme": `/api/messages/${id}/inline/logo%40acme` },
 *   allowRemoteImages: false,
 * });
 */
export async function sanitizeEmailHtml(html: string, options: SanitizeOptions): Promise<SanitizedHtml> {
  const pass: Pass = { options, blocked: 0 };
  const out = await sanitizeDocument(html, pass, 0);
  return { html: out, blockedRemoteImages: pass.blocked };
}

/**
 * The Content-Security-Policy to send (as a response header) with a sanitized body. Inline styles are
 * allowed because mail depends on them; images load from the app itself (mapped cid: images) and, when
 * allowed, from any http(s) origin; nothing else loads, runs, submits or frames. The `sandbox`
 * directive keeps the body sandboxed even if its URL is opened directly (header only: it is ignored in
 * a `<meta>` tag, as is `frame-ancestors`). Also send `Referrer-Policy: no-referrer`.
 */
export function emailBodyCsp(allowRemoteImages: boolean): string {
  return [
    "default-src 'none'",
    `img-src 'self'${allowRemoteImages ? " https: http:" : ""}`,
    "style-src 'unsafe-inline'",
    "script-src 'none'",
    "object-src 'none'",
    "form-action 'none'",
    "base-uri 'none'",
    "frame-ancestors 'self'",
    "sandbox allow-popups allow-popups-to-escape-sandbox",
  ].join("; ");
}

async function sanitizeDocument(html: string, pass: Pass, depth: number): Promise<string> {
  // The raw-text element whose text is being collected: lol-html hands it over in arbitrary chunks,
  // and CSS or markup can only be judged whole.
  let raw: { kind: "style" | "noscript" | "text"; text: string } | null = null;

  const rewriter = new HTMLRewriter()
    .on("*", {
      element(el) {
        if (el.removed) return; // inside something already dropped
        const tag = el.tagName;
        if (el.namespaceURI !== HTML_NS || DROP.has(tag)) {
          el.remove();
          return;
        }
        if (tag === "style" || tag === "noscript" || AS_PRE.has(tag)) {
          const open: NonNullable<typeof raw> = {
            kind: tag === "style" || tag === "noscript" ? tag : "text",
            text: "",
          };
          raw = open;
          el.onEndTag((end) => {
            if (raw === open) raw = null;
            end.name = end.name; // rewrites `</style foo=...>` as `</style>`
          });
        } else if (KEEP.has(tag) && !VOID.has(tag)) {
          // Rewriting the name re-serializes the end tag without whatever attributes it carried.
          el.onEndTag((end) => {
            end.name = end.name;
          });
        }
        if (tag === "noscript" || !(KEEP.has(tag) || AS_PRE.has(tag))) {
          el.removeAndKeepContent();
          return;
        }
        if (AS_PRE.has(tag)) el.tagName = "pre";
        sanitizeAttributes(el, pass);
      },
    })
    .onDocument({
      comments(comment) {
        comment.remove();
      },
      text(chunk) {
        if (!raw) {
          // Text is copied out raw; escaping `<` keeps a removed node from splicing text into a tag.
          if (chunk.text.includes("<")) chunk.replace(chunk.text.replaceAll("<", "&lt;"), { html: true });
          return;
        }
        raw.text += chunk.text;
        if (!chunk.lastInTextNode) {
          chunk.remove();
          return;
        }
        const text = stripSentinel(raw.text);
        raw.text = "";
        if (raw.kind === "text") {
          chunk.replace(text); // without { html: true } it is escaped as text
        } else if (raw.kind === "style") {
          chunk.replace(sanitizeCss(text, pass, true), { html: true });
        } else if (depth < MAX_NOSCRIPT_DEPTH) {
          return sanitizeDocument(text, pass, depth + 1).then((html) => void chunk.replace(html, { html: true }));
        } else {
          chunk.remove();
        }
      },
      end(end) {
        // A <style> left open would swallow whatever the app puts after the body.
        if (raw?.kind === "style") end.append("</style>", { html: true });
      },
    });

  // A doctype is copied out as written and cannot be removed; it runs to the first `>`, so a `<` in
  // it is never markup, and dropping it keeps "every `<` in the output starts a tag" true.
  const input = html.replace(/<!doctype[^>]*/gi, (doctype) => `<${doctype.slice(1).replaceAll("<", "")}`);
  const response = rewriter.transform(
    new Response(input + EOF_SENTINEL, { headers: { "content-type": "text/html; charset=utf-8" } }),
  );
  return response.text();
}

/** Raw text left open at the end of the input ends with our sentinel; the caller sanitizes what is left. */
function stripSentinel(text: string): string {
  return text.endsWith(EOF_SENTINEL) ? text.slice(0, -EOF_SENTINEL.length) : text;
}

function sanitizeAttributes(el: Element, pass: Pass): void {
  const tag = el.tagName;
  const first = new Map<string, string>();
  const repeated = new Set<string>();
  for (const [name, value] of el.attributes) {
    if (name === undefined || value === undefined) continue;
    if (first.has(name)) repeated.add(name);
    else first.set(name, value);
  }

  let remoteKept = false;
  let imageBlocked = false;
  for (const [name, rawValue] of first) {
    // The browser obeys the first of duplicate attributes: drop them all, then set back what is kept.
    if (repeated.has(name)) removeAll(el, name);
    const keep = () => setRaw(el, name, rawValue, repeated.has(name));

    if (!ATTR_NAME.test(name) || name.startsWith("on") || DENY_ATTR.has(name)) {
      removeAll(el, name);
    } else if (name === "style") {
      const css = sanitizeCss(decodeCharacterReferences(rawValue), pass, false).trim();
      if (css) el.setAttribute("style", escapeAttribute(css));
      else removeAll(el, name);
    } else if (LINK_ATTRS.has(name)) {
      const { scheme } = parseUrl(decodeCharacterReferences(rawValue));
      const allowed = ["http", "https", "mailto", "tel"].includes(scheme) || (name === "href" && scheme === "#");
      // An allowed value is left as written: the browser decodes it to the same URL we checked.
      if (allowed) keep();
      else removeAll(el, name);
    } else if (name === "usemap") {
      if (parseUrl(decodeCharacterReferences(rawValue)).scheme === "#") keep();
      else removeAll(el, name);
    } else if ((name === "src" && tag === "img") || name === "background") {
      const image = resolveImage(decodeCharacterReferences(rawValue), pass.options);
      if (image.ok && image.remote) {
        remoteKept = true;
        keep();
      } else if (image.ok) {
        el.setAttribute(name, escapeAttribute(image.url));
      } else {
        removeAll(el, name);
        if (image.remote) {
          setRaw(el, name === "src" ? "data-blocked-src" : "data-blocked-background", rawValue, true);
          pass.blocked++;
          if (name === "src") imageBlocked = true;
        }
      }
    } else if (name === "srcset" && tag === "img") {
      const filtered = filterSrcset(decodeCharacterReferences(rawValue), pass.options);
      if (filtered.remote && !pass.options.allowRemoteImages && !imageBlocked) {
        pass.blocked++;
        imageBlocked = true;
      }
      if (filtered.value) {
        el.setAttribute("srcset", escapeAttribute(filtered.value));
        if (filtered.remote) remoteKept = true;
      } else {
        removeAll(el, name);
      }
    } else if (name === "src" || name === "srcset") {
      removeAll(el, name); // no kept element other than img loads from these
    } else {
      keep();
    }
  }

  if (remoteKept) el.setAttribute("referrerpolicy", "no-referrer");
  if ((tag === "a" || tag === "area") && el.hasAttribute("href")) {
    // In-page links stay in the frame; everything else opens outside it, with no opener or referrer.
    if (parseUrl(decodeCharacterReferences(el.getAttribute("href")!)).scheme !== "#") {
      el.setAttribute("target", "_blank");
      el.setAttribute("rel", "noopener noreferrer");
    }
  }
}

function removeAll(el: Element, name: string): void {
  while (el.hasAttribute(name)) el.removeAttribute(name);
}

/**
 * Keeps a value as written (still entity-encoded, so it means the same to the browser), except that
 * `<` and `>` become references: then every `<` in the output starts a real tag.
 */
function setRaw(el: Element, name: string, rawValue: string, force: boolean): void {
  if (force || /[<>]/.test(rawValue)) el.setAttribute(name, rawValue.replaceAll("<", "&lt;").replaceAll(">", "&gt;"));
}

/** For a value decoded here: lol-html escapes `"` itself, the rest is ours, or the browser would decode it again. */
function escapeAttribute(value: string): string {
  return value.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

interface ParsedUrl {
  /** Lower-cased scheme, `#` for a fragment, or "" for anything relative, malformed or suspicious. */
  scheme: string;
  url: string;
}

/**
 * Reads a URL's scheme the way a browser's URL parser does: leading and trailing C0 controls and
 * spaces are ignored, and tab, CR and LF are ignored anywhere (`java\tscript:`). Any other character
 * outside the scheme grammar (another control, a space) means no scheme, which nothing allows.
 */
function parseUrl(decoded: string): ParsedUrl {
  const url = decoded.replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, "").replace(/[\t\n\r]/g, "");
  if (url.startsWith("#")) return { scheme: "#", url };
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase() ?? "";
  return { scheme, url };
}

type ImageSource = { ok: true; url: string; remote: boolean } | { ok: false; remote: boolean };

function resolveImage(decoded: string, options: SanitizeOptions): ImageSource {
  const { scheme, url } = parseUrl(decoded);
  if (scheme === "cid") {
    const mapped = inlineImageUrl(url.slice(4), options.inlineImages);
    return mapped ? { ok: true, url: mapped, remote: false } : { ok: false, remote: false };
  }
  if (scheme === "http" || scheme === "https") {
    return options.allowRemoteImages ? { ok: true, url, remote: true } : { ok: false, remote: true };
  }
  return { ok: false, remote: false };
}

function inlineImageUrl(contentId: string, map: Record<string, string>): string | null {
  const id = contentId.replace(/^<|>$/g, "");
  let unescaped = id;
  try {
    unescaped = decodeURIComponent(id); // RFC 2392 lets cid: URLs percent-encode the Content-ID
  } catch {
    // Not valid percent-encoding: only the literal form can match.
  }
  // Own properties only: `cid:constructor` must not find Object.prototype.constructor.
  const url = Object.hasOwn(map, id) ? map[id] : Object.hasOwn(map, unescaped) ? map[unescaped] : undefined;
  if (typeof url !== "string") return null;
  // The map comes from the app, but a javascript: or data: URL in it would still be one here.
  const scheme = parseUrl(url).scheme;
  return (url.startsWith("/") && !url.startsWith("//")) || scheme === "http" || scheme === "https" ? url : null;
}

/** Keeps the image candidates that may load (mapped cid:, and http(s) when allowed), with plain descriptors. */
function filterSrcset(decoded: string, options: SanitizeOptions): { value: string; remote: boolean } {
  const kept: string[] = [];
  let remote = false;
  for (const candidate of parseSrcset(decoded)) {
    const image = resolveImage(candidate.url, options);
    if (image.remote) remote = true;
    if (!image.ok || /[\s,]/.test(image.url)) continue;
    const descriptor = /^(\d+w|\d+(\.\d+)?x)$/.test(candidate.descriptor) ? ` ${candidate.descriptor}` : "";
    kept.push(image.url + descriptor);
  }
  return { value: kept.join(", "), remote };
}

/** The srcset grammar, simplified: URLs are runs of non-space, descriptors run to the next top-level comma. */
function parseSrcset(value: string): { url: string; descriptor: string }[] {
  const out: { url: string; descriptor: string }[] = [];
  let i = 0;
  while (i < value.length) {
    while (i < value.length && /[\s,]/.test(value[i]!)) i++;
    if (i >= value.length) break;
    const start = i;
    while (i < value.length && !/\s/.test(value[i]!)) i++;
    let url = value.slice(start, i);
    let descriptor = "";
    if (url.endsWith(",")) {
      url = url.replace(/,+$/, "");
    } else {
      const from = i;
      let parens = 0;
      while (i < value.length && !(value[i] === "," && parens === 0)) {
        if (value[i] === "(") parens++;
        else if (value[i] === ")" && parens > 0) parens--;
        i++;
      }
      descriptor = value.slice(from, i).trim();
    }
    out.push({ url, descriptor });
  }
  return out;
}

const CSS_CONTROLS = /[\x00-\x08\x0b\x0e-\x1f\x7f]/g;

/** A url() whose argument we can read exactly; anything else that says `url(` is neutralized below. */
const CSS_URL = /url\(\s*(?:"([^"\n\r\f]*)"|'([^'\n\r\f]*)'|([^"'()\s]*))\s*(?:\)|$)/gi;

/**
 * CSS that runs script in old engines (expression, behavior, -moz-binding), imports, script URLs, and
 * functions that fetch an image from a bare string (image-set("x"), image("x"), src("x")).
 */
const CSS_DANGER =
  /@import|expression\s*\(|behaviou?r\s*:|-moz-binding|(?:java|vb|live)script\s*:|url\s*\(|image-set\s*\(|image\s*\(|src\s*\(|paint\s*\(|element\s*\(/gi;

/**
 * Sanitizes a style sheet or a style attribute (already entity-decoded). CSS escapes and comments are
 * resolved first and the result is emitted without any, so the browser reads exactly the text that was
 * checked; every url() is then resolved like an image source, and what remains dangerous is renamed
 * to something a browser ignores.
 */
function sanitizeCss(css: string, pass: Pass, inStyleElement: boolean): string {
  let s = decodeCssEscapes(css.replace(CSS_CONTROLS, ""))
    .replaceAll("\\", "")
    .replace(CSS_CONTROLS, "")
    .replace(/\/\*[\s\S]*?(?:\*\/|$)/g, "");
  const urls: string[] = [];
  s = s.replace(CSS_URL, (_m, dq?: string, sq?: string, bare?: string) => {
    const image = resolveImage(dq ?? sq ?? bare ?? "", pass.options);
    if (!image.ok) {
      if (image.remote) pass.blocked++;
      return "none";
    }
    urls.push(cssString(image.url));
    return `\x01${urls.length - 1}\x02`;
  });
  s = s.replace(CSS_DANGER, (m) =>
    m.startsWith("@") ? "@x-blocked" : `x-blocked${m.endsWith("(") || m.endsWith(":") ? m.slice(-1) : ""}`,
  );
  // Inside <style>, a `<` could only be the start of `</style>`.
  if (inStyleElement) s = s.replaceAll("<", "");
  return s.replace(/\x01(\d+)\x02/g, (_m, i: string) => `url(${urls[Number(i)]})`);
}

function decodeCssEscapes(css: string): string {
  return css.replace(
    /\\(?:([0-9a-fA-F]{1,6})(?:\r\n|[ \t\n\r\f])?|(\r\n|[\n\r\f])|([\s\S])|$)/g,
    (_m, hex?: string, newline?: string, char?: string) => {
      if (hex !== undefined) {
        const cp = parseInt(hex, 16);
        return cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? "\ufffd" : String.fromCodePoint(cp);
      }
      if (newline !== undefined) return "";
      return char ?? "\ufffd";
    },
  );
}

/** A CSS string that cannot end early, hold an escape we did not write, or close a <style>. */
function cssString(value: string): string {
  return `"${value.replace(/["\\<>\n\r\f]/g, (c) => `\\${c.charCodeAt(0).toString(16)} `)}"`;
}

/**
 * Every named character reference whose value contains an ASCII character (from the WHATWG list), plus
 * a few common typographic ones. Unknown names are left as written: any reference missing here decodes
 * to non-ASCII only, so it can never spell a scheme, a CSS keyword or CSS punctuation.
 */
const NAMED_REFERENCES: Record<string, string> = {
  AMP: "&",
  amp: "&",
  LT: "<",
  lt: "<",
  GT: ">",
  gt: ">",
  QUOT: '"',
  quot: '"',
  apos: "'",
  Tab: "\t",
  NewLine: "\n",
  excl: "!",
  num: "#",
  dollar: "$",
  percnt: "%",
  lpar: "(",
  rpar: ")",
  ast: "*",
  midast: "*",
  plus: "+",
  comma: ",",
  period: ".",
  sol: "/",
  colon: ":",
  semi: ";",
  equals: "=",
  quest: "?",
  commat: "@",
  lsqb: "[",
  lbrack: "[",
  bsol: "\\",
  rsqb: "]",
  rbrack: "]",
  Hat: "^",
  lowbar: "_",
  UnderBar: "_",
  grave: "`",
  DiacriticalGrave: "`",
  lcub: "{",
  lbrace: "{",
  verbar: "|",
  vert: "|",
  VerticalLine: "|",
  rcub: "}",
  rbrace: "}",
  fjlig: "fj",
  bne: "=\u20e5",
  nvlt: "<\u20d2",
  nvgt: ">\u20d2",
  nbsp: "\u00a0",
  copy: "\u00a9",
  reg: "\u00ae",
  trade: "\u2122",
  hellip: "\u2026",
  ndash: "\u2013",
  mdash: "\u2014",
  lsquo: "\u2018",
  rsquo: "\u2019",
  ldquo: "\u201c",
  rdquo: "\u201d",
  laquo: "\u00ab",
  raquo: "\u00bb",
  bull: "\u2022",
  middot: "\u00b7",
  euro: "\u20ac",
  pound: "\u00a3",
};

/** The ASCII references a browser also accepts without `;` (unless `=` or an alphanumeric follows, in attributes). */
const LEGACY_REFERENCES = new Set(["AMP", "amp", "LT", "lt", "GT", "gt", "QUOT", "quot"]);

/** Numeric references to C1 controls mean Windows-1252 (HTML's "numeric character reference end state"). */
const C1_WINDOWS_1252 =
  "\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f" +
  "\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178";

/** Decodes character references in an attribute value as a browser would (numeric ones need no `;`). */
function decodeCharacterReferences(value: string): string {
  if (!value.includes("&")) return value;
  return value.replace(
    /&(?:#[xX]([0-9a-fA-F]+);?|#([0-9]+);?|([A-Za-z][A-Za-z0-9]*)(;?))/g,
    (
      match,
      hex: string | undefined,
      dec: string | undefined,
      name: string | undefined,
      semi: string,
      offset: number,
    ) => {
      if (hex !== undefined || dec !== undefined) {
        const cp = hex !== undefined ? parseInt(hex, 16) : parseInt(dec!, 10);
        if (cp === 0 || cp > 0x10ffff || Number.isNaN(cp) || (cp >= 0xd800 && cp <= 0xdfff)) return "\ufffd";
        if (cp >= 0x80 && cp <= 0x9f) return C1_WINDOWS_1252[cp - 0x80]!;
        return String.fromCodePoint(cp);
      }
      if (semi && Object.hasOwn(NAMED_REFERENCES, name!)) return NAMED_REFERENCES[name!]!;
      if (!semi && LEGACY_REFERENCES.has(name!) && value[offset + match.length] !== "=") {
        return NAMED_REFERENCES[name!]!;
      }
      return match;
    },
  );
}
