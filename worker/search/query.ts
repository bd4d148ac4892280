/**
 * The inbox search box: a pure parser for a Gmail-like query language, and the FTS5 `MATCH`
 * expression for its text parts. No I/O, so it runs the same in the Worker, a Durable Object or a test.
 *
 * Syntax:
 * - free words and `"quoted phrases"`, searched in subject, participants and body;
 * - `-word` / `-"a phrase"` excludes (free terms only);
 * - `from:`, `to:` (to and cc), `subject:`: text, matched through FTS5 column filters;
 * - `has:attachment`, `is:open|pending|closed|snoozed|unread`, `assignee:me|none|<email>`,
 *   `tag:<name>`, `in:<inbox address or inbox id>`: structured filters the caller applies in SQL.
 *
 * Operator names are case-insensitive; values keep their case (matching is case-insensitive downstream).
 * Any value may be quoted: `subject:"big deal"`.
 *
 * @packageDocumentation
 */

/** The longest input parsed; the rest is dropped. The search box can use it as its `maxlength`. */
export const MAX_SEARCH_LENGTH = 500;
/** The most tokens (words, phrases, operators) kept from one query; later ones are dropped. */
export const MAX_SEARCH_TOKENS = 20;

export type SearchStatus = "open" | "pending" | "closed" | "snoozed";
export type AssigneeFilter = { kind: "me" } | { kind: "none" } | { kind: "email"; email: string };

export interface ParsedSearch {
  /** Free words/phrases (positive), each a phrase. */
  terms: string[];
  /** Negated words/phrases. */
  excluded: string[];
  from: string[];
  /** Matches the to and cc recipients. */
  to: string[];
  subject: string[];
  hasAttachment: boolean;
  status: SearchStatus[];
  unread: boolean;
  assignee: AssigneeFilter[];
  tags: string[];
  inboxes: string[];
}

const STATUSES: readonly string[] = ["open", "pending", "closed", "snoozed"] satisfies SearchStatus[];
const OPERATORS = new Set(["from", "to", "subject", "has", "is", "assignee", "tag", "in"]);

// What FTS5's default unicode61 tokenizer keeps as token characters (letters and numbers). A
// phrase with none of them is an empty FTS5 phrase, which matches nothing: `"x" AND ""` would hide
// every result, so such terms are dropped instead.
const WORD_CHAR = /[\p{L}\p{N}]/u;
const SINGLE_WORD = /^[\p{L}\p{N}]{2,}$/u;
const SIMPLE_EMAIL = /^[^\s@]+@[^\s@]+$/;

function emptySearch(): ParsedSearch {
  return {
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
}

/**
 * Truncates to {@link MAX_SEARCH_LENGTH}, turns tabs and line breaks into spaces, and strips every
 * other control character (NUL included) and any unpaired surrogate, so later stages only see
 * printable, well-formed text.
 */
function sanitize(input: string): string {
  return (
    input
      .slice(0, MAX_SEARCH_LENGTH)
      .replace(/[\t\n\v\f\r]/g, " ")
      .replace(/\p{Cc}/gu, "")
      // A cut at 500 can split a surrogate pair; a lone half is not valid text for SQLite either.
      .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "")
  );
}

/** One token of the query, before it is given a meaning. */
interface RawToken {
  negated: boolean;
  /** Lower-cased operator name, when the token looks like `name:value`. */
  operator?: string;
  /** The phrase, word or operator value, quotes removed. */
  value: string;
  /** The token as text (`name:value` for operators), used when it falls back to a free term. */
  text: string;
}

const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/u.test(c);

/**
 * Splits the query into at most {@link MAX_SEARCH_TOKENS} tokens. A `"` opens a phrase wherever it
 * appears (so `a"b` is the word `a` then the phrase `b`); an unbalanced quote runs to the end.
 */
function tokenize(s: string): RawToken[] {
  const tokens: RawToken[] = [];
  let i = 0;
  const readQuoted = (): string => {
    // s[i] is the opening quote.
    const close = s.indexOf('"', i + 1);
    const end = close === -1 ? s.length : close;
    const value = s.slice(i + 1, end);
    i = close === -1 ? s.length : close + 1;
    return value;
  };

  while (tokens.length < MAX_SEARCH_TOKENS) {
    while (isSpace(s[i])) i++;
    if (i >= s.length) break;

    const negated = s[i] === "-";
    if (negated) i++;

    if (s[i] === '"') {
      const value = readQuoted();
      tokens.push({ negated, value, text: value });
      continue;
    }

    const start = i;
    while (i < s.length && !isSpace(s[i]) && s[i] !== '"') i++;
    const word = s.slice(start, i);
    const op = /^([a-z]+):(.*)$/i.exec(word);
    if (op) {
      const operator = op[1]!.toLowerCase();
      // `name:"quoted value"`: the quote directly after the colon belongs to this token.
      const value = op[2] === "" && s[i] === '"' ? readQuoted() : op[2]!;
      tokens.push({ negated, operator, value, text: `${op[1]}:${value}` });
    } else {
      tokens.push({ negated, value: word, text: word });
    }
  }
  return tokens;
}

/** Adds `value` unless an equal one (ignoring case) is already there. */
function pushUnique(list: string[], value: string): void {
  const key = value.toLowerCase();
  if (!list.some((v) => v.toLowerCase() === key)) list.push(value);
}

/**
 * Applies one known, non-negated operator. Returns false when the value means nothing for that
 * operator (`has:foo`, `is:bar`, `assignee:bob`), so the caller can fall back to a free term.
 */
function applyOperator(q: ParsedSearch, operator: string, value: string): boolean {
  const lower = value.toLowerCase();
  switch (operator) {
    case "from":
    case "to":
    case "subject":
      // These go to FTS5; a value with no word in it would be an empty phrase (see WORD_CHAR).
      if (WORD_CHAR.test(value)) pushUnique(q[operator], value);
      return true;
    case "has":
      if (lower !== "attachment") return false;
      q.hasAttachment = true;
      return true;
    case "is":
      if (lower === "unread") q.unread = true;
      else if (STATUSES.includes(lower)) {
        if (!q.status.includes(lower as SearchStatus)) q.status.push(lower as SearchStatus);
      } else return false;
      return true;
    case "assignee": {
      let filter: AssigneeFilter;
      if (lower === "me" || lower === "none") filter = { kind: lower };
      else if (SIMPLE_EMAIL.test(value)) filter = { kind: "email", email: value };
      else return false;
      const same = (a: AssigneeFilter) =>
        a.kind === filter.kind && (a.kind !== "email" || filter.kind !== "email" || a.email.toLowerCase() === lower);
      if (!q.assignee.some(same)) q.assignee.push(filter);
      return true;
    }
    case "tag":
      pushUnique(q.tags, value);
      return true;
    case "in":
      pushUnique(q.inboxes, value);
      return true;
    default:
      return false;
  }
}

/**
 * Parses the search box. Never throws: whatever cannot be understood becomes free text.
 *
 * Rules beyond the syntax in the module comment:
 * - input is cut to {@link MAX_SEARCH_LENGTH} characters and {@link MAX_SEARCH_TOKENS} tokens;
 *   control characters are stripped (tabs and line breaks become spaces);
 * - an unknown operator (`foo:bar`), or a known one with a value it does not understand
 *   (`is:banana`, `assignee:bob`), is a free word: the whole token;
 * - a negated operator (`-from:ann`) is not supported, so it is excluded text, the whole token
 *   (`from:ann`), like any other negated word;
 * - an operator with an empty value (`from:`, `tag:""`) is ignored, so typing one does not
 *   change the results mid-word;
 * - free terms and text values with no letter or digit (`-`, `"**"`) are dropped: FTS5 would
 *   see an empty phrase, which matches nothing;
 * - every list is de-duplicated ignoring case, keeping the first spelling.
 *
 * @example
 * parseSearch('from:ann "big deal" -invoice is:open')
 * // { terms: ["big deal"], excluded: ["invoice"], from: ["ann"], status: ["open"], ... }
 */
export function parseSearch(input: string): ParsedSearch {
  const q = emptySearch();
  for (const token of tokenize(sanitize(input))) {
    const value = token.value.trim();
    if (token.operator !== undefined && OPERATORS.has(token.operator)) {
      if (value === "") continue;
      if (!token.negated && applyOperator(q, token.operator, value)) continue;
    }
    const text = (token.operator === undefined ? value : token.text).trim();
    if (!WORD_CHAR.test(text)) continue;
    pushUnique(token.negated ? q.excluded : q.terms, text);
  }
  return q;
}

/** A user string as an FTS5 string literal: the only way user text reaches the MATCH expression. */
export function literal(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

/** The last free term, when it is matched as a prefix (see {@link ftsMatchExpression}). */
export function prefixTerm(q: ParsedSearch): string | null {
  const terms = q.terms.filter((s) => WORD_CHAR.test(s));
  const last = terms.at(-1);
  return last !== undefined && SINGLE_WORD.test(last) ? last : null;
}

/**
 * The FTS5 `MATCH` expression for the text parts of a query (terms, excluded, from, to, subject),
 * over an FTS5 table with columns `subject`, `participants` and `body`. Bind it as a parameter:
 * `WHERE messages_fts MATCH ?`.
 *
 * - Every user string is an FTS5 string literal (`"..."`, inner `"` doubled), so no input can
 *   inject FTS5 syntax: NEAR, `*`, `^`, column filters, parentheses and AND/OR/NOT are plain
 *   words inside a literal. The only syntax emitted is literals, `{col}:` filters, `*`, AND and NOT.
 * - Search-as-you-type: the last free term gets prefix matching (`"inv" *`) when it is a single word
 *   (letters and digits only) of at least 2 characters. Phrases, and words the tokenizer would split
 *   (`e-mail`), match as typed.
 * - `from:` and `to:` both filter the `participants` column (`{participants}: "ann"`), which holds
 *   the "name <address>" text of from, to and cc together; FTS5 cannot tell the roles apart, so a
 *   caller that needs the exact role checks it on the structured columns.
 * - `subject:` filters the `subject` column.
 * - Exclusions use FTS5's binary NOT (`"a" NOT "b"`), which needs a positive side. A query with
 *   only exclusions returns null, and its words stay in `q.excluded`: the caller handles them
 *   itself (e.g. `rowid NOT IN (SELECT rowid FROM fts WHERE fts MATCH ?)` with the same quoting),
 *   or ignores them.
 * - Strings with no letter or digit are skipped (an empty FTS5 phrase matches nothing), so a
 *   hand-built ParsedSearch gets the same treatment as one from {@link parseSearch}.
 *
 * - `completions`, when given, are the indexed words the last term's prefix stands for (from the
 *   index's vocabulary): the term becomes `("inv" OR "invoice")` instead of `"inv" *`. Same matches;
 *   FTS5 evaluates a prefix by merging every such word's list, which costs dearly when the
 *   expression is evaluated once per thread.
 *
 * Returns null when there is no positive text part; the caller then does not use MATCH at all.
 *
 * @example
 * ftsMatchExpression(parseSearch('from:ann invoi -draft'))
 * // '"invoi" * AND {participants}: "ann" NOT "draft"'
 */
export function ftsMatchExpression(q: ParsedSearch, completions?: string[]): string | null {
  const words = (list: string[]) => list.filter((s) => WORD_CHAR.test(s));
  const terms = words(q.terms);
  const positive = terms.map((term, i) => {
    if (i !== terms.length - 1 || !SINGLE_WORD.test(term)) return literal(term);
    if (!completions) return `${literal(term)} *`;
    return `(${[term, ...completions.filter((c) => c !== term)].map(literal).join(" OR ")})`;
  });
  for (const value of words([...q.from, ...q.to])) positive.push(`{participants}: ${literal(value)}`);
  for (const value of words(q.subject)) positive.push(`{subject}: ${literal(value)}`);
  if (positive.length === 0) return null;
  // No parentheses needed: FTS5's NOT is left-associative, so `a AND b NOT c NOT d` is
  // ((a ∧ b) ∧ ¬c) ∧ ¬d (the test suite checks this against a real FTS5 table).
  return [positive.join(" AND "), ...words(q.excluded).map(literal)].join(" NOT ");
}
