/**
 * The mail sanitizer against every payload of DOMPurify's test vectors (../shared/corpora/dompurify),
 * inside workerd with the real HTMLRewriter. DOMPurify's expected outputs are for its own default
 * configuration (which keeps svg, math and data: images) and are not compared; what is checked is that
 * no output can run script, load what it should not, or carry markup a browser could turn into either,
 * both as HTMLRewriter parses the output and as an independent tokenizer reads it.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sanitizeEmailHtml, type SanitizeOptions } from "../../worker/mail/sanitize-html";
import { expectInert, parsedProblems } from "../support/html-safety";

const corpus = env.TEST_SANITIZER_CORPUS;
const blockRemote: SanitizeOptions = {
  inlineImages: { "logo@acme.test": "/api/inline/logo" },
  allowRemoteImages: false,
};
const allowRemote: SanitizeOptions = { ...blockRemote, allowRemoteImages: true };

/** Everything wrong with one output, from both checkers; empty when it is inert. */
async function problemsOf(html: string, remoteAllowed: boolean): Promise<string[]> {
  const problems = await parsedProblems(html, remoteAllowed);
  try {
    expectInert(html, remoteAllowed);
  } catch (e) {
    problems.push(`tokenizer: ${(e as Error).message.split("\n")[0]}`);
  }
  return problems;
}

describe("sanitizeEmailHtml against DOMPurify's test vectors", () => {
  if (corpus.length === 0) {
    it.skip("cannot run: ../shared/corpora/dompurify was not found beside the project", () => {});
  }

  it.runIf(corpus.length > 0)(
    "leaves every payload inert, with remote images blocked and allowed",
    { timeout: 120_000 },
    async () => {
      const failures: Record<string, string[]> = {};
      let checked = 0;
      for (const [i, { title, payload }] of corpus.entries()) {
        for (const options of [blockRemote, allowRemote]) {
          const { html } = await sanitizeEmailHtml(payload, options);
          const problems = [
            ...(await problemsOf(html, options.allowRemoteImages)),
            // Whatever the app puts after the body must not be pulled into a tag the body left open.
            ...(await problemsOf(`${html}<p title="after">after</p>`, options.allowRemoteImages)),
          ];
          // Sanitizing the output again changes nothing: it already parses as exactly what was checked.
          const again = await sanitizeEmailHtml(html, options);
          if (again.html !== html)
            problems.push(`not stable: ${JSON.stringify(html)} -> ${JSON.stringify(again.html)}`);
          if (problems.length > 0) failures[`#${i} ${title} (remote ${options.allowRemoteImages})`] = problems;
        }
        checked++;
      }
      expect(failures).toEqual({});
      expect(checked).toBe(corpus.length);
      expect(checked).toBeGreaterThanOrEqual(200);
    },
  );

  it.runIf(corpus.length > 0)("flags most payloads when nothing is sanitized (each check can fail)", async () => {
    let parsed = 0;
    let tokenized = 0;
    for (const { payload } of corpus) {
      if ((await parsedProblems(payload, false)).length > 0) parsed++;
      try {
        expectInert(payload, false);
      } catch {
        tokenized++;
      }
    }
    // The corpus is hostile by design; the few inert payloads are plain markup DOMPurify must keep.
    expect(parsed, "payloads the parse flags").toBeGreaterThanOrEqual(Math.floor(corpus.length * 0.8));
    expect(tokenized, "payloads the tokenizer flags").toBeGreaterThanOrEqual(Math.floor(corpus.length * 0.8));
  });
});
