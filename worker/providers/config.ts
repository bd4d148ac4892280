/**
 * Where the providers live and who we are to them. Production points at Google and Microsoft;
 * sandbox mode points the same clients at the provider emulator. Nothing else changes.
 */
export interface ProviderConfig {
  google: { clientId: string; clientSecret: string; issuer: string; gmailApiBase: string };
  microsoft: {
    clientId: string;
    clientSecret: string;
    authority: string;
    graphApiBase: string;
    /** The most messages a date-filtered delta round returns. */
    filteredDeltaCap: number;
  };
}

export function readProviderConfig(env: Env): ProviderConfig {
  return {
    google: {
      clientId: env.GOOGLE_CLIENT_ID,
      clientSecret: env.GOOGLE_CLIENT_SECRET ?? "",
      issuer: env.GOOGLE_ISSUER.replace(/\/$/, ""),
      gmailApiBase: env.GMAIL_API_BASE.replace(/\/$/, ""),
    },
    microsoft: {
      clientId: env.MICROSOFT_CLIENT_ID,
      clientSecret: env.MICROSOFT_CLIENT_SECRET ?? "",
      authority: env.MICROSOFT_AUTHORITY.replace(/\/$/, ""),
      graphApiBase: env.GRAPH_API_BASE.replace(/\/$/, ""),
      filteredDeltaCap: Math.max(1, Number(env.GRAPH_FILTERED_DELTA_CAP) || 5_000),
    },
  };
}
