import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The shared MIME corpora sit next to the project (`../shared/corpora`); the demo works without them. */
export function defaultCorpusDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../shared/corpora");
}

export interface CorpusSample {
  name: string;
  raw: Buffer;
}

/** Samples that fit a shared inbox: auto-replies, bounces, real-world MIME structures. */
const GOOGLE_SAMPLES = [
  "sisimai-set-of-emails/bsd/rfc3834-01.eml",
  "sisimai-set-of-emails/bsd/lhost-gmail-01.eml",
  "postal-mime/fixtures/mixed.eml",
  "postal-mime/fixtures/calendar-event.eml",
  "james-mime4j/mimetools-testmsgs/attachment-filename-encoding-UTF8.msg",
];
const MICROSOFT_SAMPLES = [
  "sisimai-set-of-emails/bsd/rfc3834-03.eml",
  "sisimai-set-of-emails/bsd/lhost-office365-01.eml",
  "postal-mime/fixtures/bounce.eml",
  "james-mime4j/mimetools-testmsgs/german-qp.msg",
];

export function loadCorpusSamples(dir: string | undefined, provider: "google" | "microsoft"): CorpusSample[] {
  if (!dir || !existsSync(dir)) return [];
  const out: CorpusSample[] = [];
  for (const rel of provider === "google" ? GOOGLE_SAMPLES : MICROSOFT_SAMPLES) {
    const file = path.join(dir, rel);
    if (existsSync(file)) out.push({ name: rel, raw: readFileSync(file) });
  }
  return out;
}
