import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ftsMatchExpression,
  prefixTerm,
  MAX_SEARCH_LENGTH,
  MAX_SEARCH_TOKENS,
  parseSearch,
  type ParsedSearch,
} from "../../worker/search/query";

const EMPTY: ParsedSearch = {
  terms: [],
  excluded: [],
  from: [],
  to: [],
  subject: [],
  hasAttachment: false,
  status: [],
  unread: false,
  assignee: [],
  tags: [],
  inboxes: [],
};

/** The expected parse: EMPTY with the given fields. */
const parsed = (fields: Partial<ParsedSearch>): ParsedSearch => ({ ...EMPTY, ...fields });

/**
 * Checks that a MATCH expression uses only the syntax ftsMatchExpression may emit, and returns the
 * strings inside its literals. Grammar: operand (AND operand)* (NOT literal)*, where
 * operand = ["{participants}:" | "{subject}:"] literal, or literal "*" for the one prefix term;
 * literal = "..." with "" for each inner ". Anything else (OR, NEAR, ^, parentheses, other
 * columns, a bare word, a second "*") fails the check.
 */
function checkMatchExpression(expr: string): string[] {
  const token = /\s*(?:("(?:[^"]|"")*")|(\*)|(AND|NOT)(?=\s)|(\{(?:participants|subject)\}:))/y;
  const literals: string[] = [];
  let state: "operand" | "literal" | "afterLiteral" | "afterStar" = "operand";
  let filtered = false; // the current literal has a column filter
  let negating = false; // past the first NOT
  let prefixes = 0;
  let pos = 0;
  const fail = (what: string) => {
    throw new Error(`${what} at ${pos} in ${expr}`);
  };
  while (pos < expr.length) {
    token.lastIndex = pos;
    const m = token.exec(expr);
    if (!m) fail("unexpected syntax");
    pos = token.lastIndex;
    const [, lit, star, keyword, column] = m!;
    if (lit !== undefined && (state === "operand" || state === "literal")) {
      literals.push(lit.slice(1, -1).replaceAll('""', '"'));
      state = "afterLiteral";
    } else if (column !== undefined && state === "operand" && !negating) {
      filtered = true;
      state = "literal";
    } else if (star !== undefined && state === "afterLiteral" && !filtered && !negating && prefixes++ === 0) {
      state = "afterStar";
    } else if (keyword !== undefined && (state === "afterLiteral" || state === "afterStar")) {
      if (keyword === "AND" && negating) fail("AND after NOT");
      negating ||= keyword === "NOT";
      filtered = false;
      state = "operand";
    } else fail(`${m![0].trim()} out of place`);
  }
  if (state !== "afterLiteral" && state !== "afterStar") fail("incomplete expression");
  return literals;
}

/** Parses and builds the expression, and checks it: safe syntax, and only the user's own strings. */
function safeMatch(input: string): { q: ParsedSearch; expr: string | null } {
  const q = parseSearch(input);
  const expr = ftsMatchExpression(q);
  if (expr !== null) {
    const allowed = new Set([...q.terms, ...q.excluded, ...q.from, ...q.to, ...q.subject]);
    for (const literal of checkMatchExpression(expr)) {
      expect(allowed.has(literal), `literal ${JSON.stringify(literal)} is not a parsed value`).toBe(true);
      expect(literal).not.toMatch(/\p{Cc}/u);
    }
  }
  return { q, expr };
}

const INJECTIONS = [
  '"a" OR b',
  "NEAR(a b)",
  "NEAR(a b, 2)",
  "subject:x* ",
  "{body}: x",
  "body: x",
  'a"b',
  "^start",
  "(a OR b) AND NOT c",
  "a AND NOT",
  'x" OR "y',
  '""" OR """',
  'from:"x" OR "y"',
  'subject:"a"" OR ""b"',
  '-"a" OR -b*',
  "a + b",
  "from:{subject} to:(a) subject:NEAR(x",
  "participants:evil",
  "tag:\"x\" OR in:'y'",
  "a\u0000b OR\u0007c",
  '\\" OR \\"',
];

/**
 * Queries for the property tests: biased towards FTS5's special characters and keywords, plus
 * arbitrary code points and raw UTF-16 code units (lone surrogates included).
 */
const anyQuery = fc.oneof(
  fc.string({
    unit: fc.constantFrom(...'"-:*^(){}+., \t\u0000abNEAROTD'.split(""), "from:", "subject:", "é", "😀"),
    maxLength: 60,
  }),
  fc.string({ unit: "binary", maxLength: 60 }),
  fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 60 }).map((units) => String.fromCharCode(...units)),
);

describe("parseSearch", () => {
  it("should give an empty search and no MATCH for empty or whitespace-only input", () => {
    for (const input of ["", "   ", "\t\n\r ", "\u00a0\u2003"]) {
      expect(parseSearch(input)).toEqual(EMPTY);
      expect(ftsMatchExpression(parseSearch(input))).toBeNull();
    }
  });

  it("should take free words as terms, in order", () => {
    expect(parseSearch("quarterly  report due")).toEqual(parsed({ terms: ["quarterly", "report", "due"] }));
  });

  it("should take a quoted phrase as one term, trimmed", () => {
    expect(parseSearch('hello " big deal " world')).toEqual(parsed({ terms: ["hello", "big deal", "world"] }));
  });

  it("should exclude a negated word and a negated phrase", () => {
    expect(parseSearch('deal -invoice -"past due"')).toEqual(
      parsed({ terms: ["deal"], excluded: ["invoice", "past due"] }),
    );
  });

  it("should only negate at the start of a token", () => {
    expect(parseSearch("e-mail re-send")).toEqual(parsed({ terms: ["e-mail", "re-send"] }));
  });

  it("should read from: and to:", () => {
    expect(parseSearch("from:ann@example.com to:bob to:Carol")).toEqual(
      parsed({ from: ["ann@example.com"], to: ["bob", "Carol"] }),
    );
  });

  it("should read subject: with a bare and a quoted value", () => {
    expect(parseSearch('subject:invoice subject:"big deal"')).toEqual(parsed({ subject: ["invoice", "big deal"] }));
  });

  it("should read a quoted value for every operator", () => {
    expect(parseSearch('from:"Ann Lee" to:"Bob" tag:"needs reply" in:"Sales Team" assignee:"me" is:"open"')).toEqual(
      parsed({
        from: ["Ann Lee"],
        to: ["Bob"],
        tags: ["needs reply"],
        inboxes: ["Sales Team"],
        assignee: [{ kind: "me" }],
        status: ["open"],
      }),
    );
  });

  it("should read has:attachment", () => {
    expect(parseSearch("has:attachment")).toEqual(parsed({ hasAttachment: true }));
    expect(parseSearch("HAS:Attachment report")).toEqual(parsed({ hasAttachment: true, terms: ["report"] }));
  });

  it.each(["open", "pending", "closed", "snoozed"] as const)("should read is:%s as a status", (status) => {
    expect(parseSearch(`is:${status}`)).toEqual(parsed({ status: [status] }));
  });

  it("should keep several statuses once each", () => {
    expect(parseSearch("is:open is:pending IS:OPEN")).toEqual(parsed({ status: ["open", "pending"] }));
  });

  it("should read is:unread apart from the statuses", () => {
    expect(parseSearch("is:unread is:snoozed")).toEqual(parsed({ unread: true, status: ["snoozed"] }));
  });

  it("should read assignee:me, assignee:none and assignee:<email>", () => {
    expect(parseSearch("assignee:me assignee:NONE assignee:Sam@Example.com assignee:sam@example.com")).toEqual(
      parsed({ assignee: [{ kind: "me" }, { kind: "none" }, { kind: "email", email: "Sam@Example.com" }] }),
    );
  });

  it("should read tag: and in: (inbox address or id), keeping the value's case", () => {
    expect(parseSearch("tag:VIP tag:vip in:sales@demo.test in:01HZX3K9Q7")).toEqual(
      parsed({ tags: ["VIP"], inboxes: ["sales@demo.test", "01HZX3K9Q7"] }),
    );
  });

  it("should match operator names in any case and keep the values' case", () => {
    expect(parseSearch("FROM:Ann To:BOB SubJect:Deal Tag:Urgent IN:Sales")).toEqual(
      parsed({ from: ["Ann"], to: ["BOB"], subject: ["Deal"], tags: ["Urgent"], inboxes: ["Sales"] }),
    );
  });

  it("should treat unknown operators as free words, the whole token", () => {
    expect(parseSearch('foo:bar https://example.com/x label:"a b" 10:30')).toEqual(
      parsed({ terms: ["foo:bar", "https://example.com/x", "label:a b", "10:30"] }),
    );
  });

  it("should treat a known operator with a value it does not know as a free word", () => {
    expect(parseSearch("has:pdf is:banana assignee:bob")).toEqual(
      parsed({ terms: ["has:pdf", "is:banana", "assignee:bob"] }),
    );
  });

  it("should treat a negated operator as excluded text, not as a filter", () => {
    expect(parseSearch("-from:ann -is:open -tag:x")).toEqual(parsed({ excluded: ["from:ann", "is:open", "tag:x"] }));
  });

  it("should ignore an operator with an empty value", () => {
    expect(parseSearch('from: tag:"" subject:"  " in:')).toEqual(EMPTY);
  });

  it("should take the rest of the input as the phrase when a quote is not closed", () => {
    expect(parseSearch('report "big deal is:open')).toEqual(parsed({ terms: ["report", "big deal is:open"] }));
    expect(parseSearch('is:open subject:"big deal from:x')).toEqual(
      parsed({ status: ["open"], subject: ["big deal from:x"] }),
    );
    expect(parseSearch('-"never closed')).toEqual(parsed({ excluded: ["never closed"] }));
  });

  it("should start a phrase at a quote inside a word", () => {
    expect(parseSearch('a"b c"d')).toEqual(parsed({ terms: ["a", "b c", "d"] }));
  });

  it("should drop terms with no letter or digit, which FTS5 could not match", () => {
    expect(parseSearch('- -- "" "**" () report ... -!!! from:@')).toEqual(parsed({ terms: ["report"] }));
  });

  it("should keep each term once, ignoring case, with its first spelling", () => {
    expect(parseSearch("Invoice invoice INVOICE -Draft -draft")).toEqual(
      parsed({ terms: ["Invoice"], excluded: ["Draft"] }),
    );
  });

  it(`should cut the input at ${MAX_SEARCH_LENGTH} characters`, () => {
    const long = `${"a".repeat(MAX_SEARCH_LENGTH - 3)} bcdef`;
    expect(parseSearch(long).terms).toEqual(["a".repeat(MAX_SEARCH_LENGTH - 3), "bc"]);
    expect(parseSearch(`${"x ".repeat(300)}tag:late`).tags).toEqual([]);
  });

  it("should not leave half a surrogate pair at the cut", () => {
    const input = `${"a".repeat(MAX_SEARCH_LENGTH - 2)} 😀`; // the emoji's second half is char 501
    expect(parseSearch(input).terms).toEqual(["a".repeat(MAX_SEARCH_LENGTH - 2)]);
    expect(parseSearch("ab\uD800cd \uDC00").terms).toEqual(["abcd"]);
  });

  it(`should keep at most ${MAX_SEARCH_TOKENS} tokens`, () => {
    const words = Array.from({ length: 30 }, (_, i) => `w${i}`);
    expect(parseSearch(words.join(" ")).terms).toEqual(words.slice(0, MAX_SEARCH_TOKENS));
    // Operators count too: the 21st token, a filter, is dropped.
    expect(parseSearch(`${words.slice(0, MAX_SEARCH_TOKENS).join(" ")} is:open`).status).toEqual([]);
  });

  it("should strip NUL and control characters, and split on tabs and line breaks", () => {
    expect(parseSearch("in\u0000voice\u0007 big\tdeal\r\nfrom:\u001bann\u009b")).toEqual(
      parsed({ terms: ["invoice", "big", "deal"], from: ["ann"] }),
    );
  });

  it("should never throw, whatever the input", () => {
    fc.assert(
      fc.property(fc.oneof(anyQuery, fc.string({ unit: "binary", maxLength: 600 })), (input) => {
        parseSearch(input);
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});

describe("ftsMatchExpression", () => {
  it("should be null when there is no text part", () => {
    expect(ftsMatchExpression(parseSearch("is:open has:attachment tag:x in:sales assignee:me is:unread"))).toBeNull();
  });

  it("should be null for a query of only exclusions, which stay listed in excluded", () => {
    const q = parseSearch('-invoice -"past due" is:open');
    expect(ftsMatchExpression(q)).toBeNull();
    expect(q.excluded).toEqual(["invoice", "past due"]);
  });

  it("should AND the terms and give the last single word prefix matching", () => {
    expect(ftsMatchExpression(parseSearch('"big deal" quarterly repo'))).toBe(
      '"big deal" AND "quarterly" AND "repo" *',
    );
  });

  it("should not add a prefix to a one-character word, a phrase, a split word, or a non-last term", () => {
    expect(ftsMatchExpression(parseSearch("report x"))).toBe('"report" AND "x"');
    expect(ftsMatchExpression(parseSearch('report "big deal"'))).toBe('"report" AND "big deal"');
    expect(ftsMatchExpression(parseSearch("report e-mail"))).toBe('"report" AND "e-mail"');
  });

  it("should give the prefix to the last free term even when operators follow it", () => {
    expect(ftsMatchExpression(parseSearch("report from:ann is:open"))).toBe('"report" * AND {participants}: "ann"');
  });

  it("should give a prefix to non-ASCII letters and digits", () => {
    expect(ftsMatchExpression(parseSearch("Rechnungsnr 2024"))).toBe('"Rechnungsnr" AND "2024" *');
    expect(ftsMatchExpression(parseSearch("größe"))).toBe('"größe" *');
  });

  it("should filter from: and to: on participants and subject: on subject", () => {
    expect(ftsMatchExpression(parseSearch('from:ann to:bob@example.com subject:"big deal"'))).toBe(
      '{participants}: "ann" AND {participants}: "bob@example.com" AND {subject}: "big deal"',
    );
  });

  it("should append exclusions with NOT", () => {
    expect(ftsMatchExpression(parseSearch('from:ann deal -invoice -"past due"'))).toBe(
      '"deal" * AND {participants}: "ann" NOT "invoice" NOT "past due"',
    );
  });

  it("should double quotes inside a literal", () => {
    const q = parsed({ terms: ['say "hi" now'], subject: ['"'], from: ['a"b'] });
    expect(ftsMatchExpression(q)).toBe('"say ""hi"" now" AND {participants}: "a""b"');
  });

  it("should spell out the last term's prefix when given the words it stands for", () => {
    expect(ftsMatchExpression(parseSearch("from:ann invoi -draft"), ["invoice", "invoices"])).toBe(
      '("invoi" OR "invoice" OR "invoices") AND {participants}: "ann" NOT "draft"',
    );
    // No word starts with it: the term alone, which matches nothing either.
    expect(ftsMatchExpression(parseSearch("zzq"), [])).toBe('("zzq")');
    // Phrases and split words never were prefixes.
    expect(ftsMatchExpression(parseSearch('"big deal"'), ["bigger"])).toBe('"big deal"');
    expect(prefixTerm(parseSearch("report inv"))).toBe("inv");
    expect(prefixTerm(parseSearch("report e-mail"))).toBeNull();
  });

  it("should skip strings with no letter or digit in a hand-built search", () => {
    expect(ftsMatchExpression(parsed({ terms: ["ok", "***"], excluded: ["-"] }))).toBe('"ok" *');
  });

  it("should reject what the checker must reject (so it is not vacuous)", () => {
    for (const bad of [
      '"a" OR "b"',
      'NEAR("a" "b")',
      '{body}: "a"',
      '"a" * AND "b" *',
      '{subject}: "a" *',
      '"a" NOT "b" AND "c"',
      '("a")',
      '"a" AND',
      '"a""',
      '^"a"',
      "a",
    ]) {
      expect(() => checkMatchExpression(bad), bad).toThrow();
    }
    expect(checkMatchExpression('"a ""b""" * AND {participants}: "c" NOT "d"')).toEqual(['a "b"', "c", "d"]);
  });

  it.each(INJECTIONS)("should emit only literals, column filters, *, AND and NOT for %j", (input) => {
    const { expr } = safeMatch(input);
    expect(expr).not.toBeNull();
  });

  it("should give no MATCH for input of only syntax characters", () => {
    for (const input of ["- -- ---", "* ^ : { } ( )", '"""', '"" "" ""', "-()"]) {
      expect(safeMatch(input).expr, input).toBeNull();
    }
  });

  it("should keep FTS5 keywords and syntax as words inside literals", () => {
    expect(safeMatch('"a" OR b').expr).toBe('"a" AND "OR" AND "b"');
    expect(safeMatch("NEAR(a b)").expr).toBe('"NEAR(a" AND "b)"');
    expect(safeMatch("subject:x* ").expr).toBe('{subject}: "x*"');
    expect(safeMatch("{body}: x").expr).toBe('"{body}:" AND "x"');
    expect(safeMatch("^start").expr).toBe('"^start"');
    expect(safeMatch('x" OR "y').expr).toBe('"x" AND "OR" AND "y"');
  });

  it("should emit safe syntax for any input", () => {
    fc.assert(
      fc.property(anyQuery, (input) => {
        safeMatch(input);
      }),
      { seed: 42, numRuns: 1000 },
    );
  });
});

/*
 * The same expressions against a real FTS5 table. Neither better-sqlite3 nor node:sqlite exists
 * under Node 20 here, but Miniflare (already installed with wrangler) runs a local D1 in workerd,
 * which is the SQLite the Worker will query in production. If it cannot be loaded, this part is
 * skipped rather than faked.
 */
const miniflare = await import("miniflare").catch(() => undefined);

describe.skipIf(miniflare === undefined)("ftsMatchExpression against FTS5 in a local D1", () => {
  let mf: import("miniflare").Miniflare;
  let db: Awaited<ReturnType<import("miniflare").Miniflare["getD1Database"]>>;

  const ROWS = [
    ["Big deal closing", "Ann Lee <ann@example.com>, Bob <bob@example.org>", "The invoice is attached."],
    ["Lunch", "Carol <carol@example.net>", "Ann said the deal is off; no invoice yet."],
    ["Invoices overdue", "Dan <dan@example.com>", "Please pay."],
    ["Logic", "Eve <eve@example.com>", "Either a or b, never NEAR."],
  ] as const;

  /** The subjects of the rows that match, or the error FTS5 raised. */
  async function subjects(expr: string): Promise<string[]> {
    const { results } = await db
      .prepare("SELECT subject FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid")
      .bind(expr)
      .all<{ subject: string }>();
    return results.map((r) => r.subject);
  }

  const search = async (input: string) => subjects(ftsMatchExpression(parseSearch(input))!);

  beforeAll(async () => {
    // In memory, on a free port (Miniflare's default), so parallel test runs do not collide.
    mf = new miniflare!.Miniflare({ modules: true, script: "export default {}", d1Databases: ["DB"] });
    db = await mf.getD1Database("DB");
    await db.exec("CREATE VIRTUAL TABLE messages_fts USING fts5(subject, participants, body)");
    for (const row of ROWS) {
      await db
        .prepare("INSERT INTO messages_fts (subject, participants, body) VALUES (?, ?, ?)")
        .bind(...row)
        .run();
    }
  }, 60_000);
  afterAll(() => mf?.dispose());

  it("should reject raw FTS5 syntax errors (the check below is not vacuous)", async () => {
    await expect(subjects("NEAR(")).rejects.toThrow(/fts5: syntax error/);
    await expect(subjects('"a" AND')).rejects.toThrow(/fts5: syntax error/);
  });

  it.each(INJECTIONS)("should accept the expression for %j", async (input) => {
    await subjects(ftsMatchExpression(parseSearch(input))!);
  });

  it("should accept the expression for any input", async () => {
    await fc.assert(
      fc.asyncProperty(anyQuery, async (input) => {
        const expr = ftsMatchExpression(parseSearch(input));
        if (expr !== null) await subjects(expr);
      }),
      { seed: 42, numRuns: 200 },
    );
  }, 60_000);

  it("should match a phrase, and a prefix on the last word", async () => {
    expect(await search('"big deal"')).toEqual(["Big deal closing"]);
    expect(await search("invoi")).toEqual(["Big deal closing", "Lunch", "Invoices overdue"]);
  });

  it("should match from: on participants only, not on a name in the body", async () => {
    expect(await search("ann")).toEqual(["Big deal closing", "Lunch"]);
    expect(await search("from:ann")).toEqual(["Big deal closing"]);
    expect(await search("to:example.com")).toEqual(["Big deal closing", "Invoices overdue", "Logic"]);
  });

  it("should match subject: on the subject only", async () => {
    expect(await search("subject:deal")).toEqual(["Big deal closing"]);
  });

  it("should apply every exclusion (FTS5's NOT groups left to right)", async () => {
    // Grouped right to left, `"invoic" * NOT ("lunch" NOT "overdue")` would also keep "Invoices overdue".
    expect(await search("invoic -lunch -overdue")).toEqual(["Big deal closing"]);
  });

  it("should search OR and NEAR as plain words", async () => {
    expect(await search('"a" OR b')).toEqual(["Logic"]);
    expect(await search("near")).toEqual(["Logic"]);
    // The NEAR operator would match "Logic" (a and b are near); the phrases "near a" and "b" do not.
    expect(await search("NEAR(a b)")).toEqual([]);
  });
});
