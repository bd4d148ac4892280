/**
 * Deployment configuration, parsed once per request from the Worker's vars. A misconfigured
 * deployment fails closed: unknown values disable features rather than enable them.
 */
import { z } from "zod";

const positiveInt = (fallback: number) =>
  z
    .string()
    .optional()
    .transform((v) => {
      const n = Number(v);
      return Number.isInteger(n) && n > 0 ? n : fallback;
    });

const configSchema = z.object({
  ENVIRONMENT: z.string().optional(),
  APP_ORIGIN: z.string().url(),
  MAIL_FROM: z.string().min(3),
  SIGNUP_MODE: z.enum(["open", "closed", "domains"]).catch("closed"),
  SIGNUP_DOMAINS: z.string().optional(),
  RATE_LIMIT_SIGNIN_PER_IP: positiveInt(10),
  RATE_LIMIT_SIGNIN_PER_EMAIL: positiveInt(5),
  RATE_LIMIT_INVITES_PER_ACCOUNT: positiveInt(30),
  RATE_LIMIT_WINDOW_S: positiveInt(600),
});

export interface Config {
  development: boolean;
  appOrigin: string;
  mailFrom: string;
  signup: { mode: "open" | "closed" | "domains"; domains: string[] };
  rateLimits: { signinPerIp: number; signinPerEmail: number; invitesPerAccount: number; windowMs: number };
}

export function readConfig(env: Record<string, unknown>): Config {
  const c = configSchema.parse(env);
  return {
    development: c.ENVIRONMENT === "development",
    appOrigin: new URL(c.APP_ORIGIN).origin,
    mailFrom: c.MAIL_FROM,
    signup: {
      mode: c.SIGNUP_MODE,
      domains: (c.SIGNUP_DOMAINS ?? "")
        .split(",")
        .map((d) => d.trim().toLowerCase())
        .filter(Boolean),
    },
    rateLimits: {
      signinPerIp: c.RATE_LIMIT_SIGNIN_PER_IP,
      signinPerEmail: c.RATE_LIMIT_SIGNIN_PER_EMAIL,
      invitesPerAccount: c.RATE_LIMIT_INVITES_PER_ACCOUNT,
      windowMs: c.RATE_LIMIT_WINDOW_S * 1000,
    },
  };
}

/** Whether public sign-up accepts this (already lower-cased) address. */
export function signupAllowed(config: Config, email: string): boolean {
  if (config.signup.mode === "open") return true;
  if (config.signup.mode === "closed") return false;
  const domain = email.slice(email.lastIndexOf("@") + 1);
  return config.signup.domains.includes(domain);
}
