import { type Identity } from "./directory";

/**
 * The fixed cast of the sandbox. Addresses and ids do not depend on the seed, so the product's dev
 * configuration and tests can name them.
 */
export const DEMO_GOOGLE_DOMAIN = "demo.test";
export const DEMO_MICROSOFT_DOMAIN = "demo-ms.test";
export const SECOND_TENANT_DOMAIN = "northwind.test";

const googleTenant = { tenantId: "C03demo7x", tenantDomain: DEMO_GOOGLE_DOMAIN, tenantName: "Demo Trading Co" };
const msTenant = {
  tenantId: "6f1d2a47-3c5e-4b8a-9d10-2e7f4c6b8a01",
  tenantDomain: DEMO_MICROSOFT_DOMAIN,
  tenantName: "Demo Support Ltd",
};
const secondTenant = {
  tenantId: "0b9e7c21-58d4-4f3a-a6e2-91c4d7f0b352",
  tenantDomain: SECOND_TENANT_DOMAIN,
  tenantName: "Northwind Traders",
};

export const DEMO_IDENTITIES: readonly Identity[] = [
  {
    address: `sales@${DEMO_GOOGLE_DOMAIN}`,
    displayName: "Demo Sales",
    givenName: "Sales",
    familyName: "Team",
    provider: "google",
    kind: "user",
    id: "108245617391045582301",
    ...googleTenant,
  },
  {
    address: `maria@${DEMO_GOOGLE_DOMAIN}`,
    displayName: "Maria Keller",
    givenName: "Maria",
    familyName: "Keller",
    provider: "google",
    kind: "user",
    id: "108245617391045582302",
    ...googleTenant,
  },
  {
    address: `team@${DEMO_GOOGLE_DOMAIN}`,
    displayName: "Demo Team (group)",
    givenName: "",
    familyName: "",
    provider: "google",
    kind: "group",
    id: "108245617391045582303",
    members: [`sales@${DEMO_GOOGLE_DOMAIN}`, `maria@${DEMO_GOOGLE_DOMAIN}`],
    ...googleTenant,
  },
  {
    address: `deals@${DEMO_GOOGLE_DOMAIN}`,
    displayName: "Demo Deals",
    givenName: "",
    familyName: "",
    provider: "google",
    kind: "alias",
    id: "108245617391045582304",
    aliasOf: `sales@${DEMO_GOOGLE_DOMAIN}`,
    ...googleTenant,
  },
  {
    address: `support@${DEMO_MICROSOFT_DOMAIN}`,
    displayName: "Demo Support",
    givenName: "",
    familyName: "",
    provider: "microsoft",
    kind: "shared",
    id: "3a8c5e10-7b2d-4e6f-9a41-c0d2e8f6b7a1",
    delegates: [`sam@${DEMO_MICROSOFT_DOMAIN}`],
    ...msTenant,
  },
  {
    address: `sam@${DEMO_MICROSOFT_DOMAIN}`,
    displayName: "Sam Okafor",
    givenName: "Sam",
    familyName: "Okafor",
    provider: "microsoft",
    kind: "user",
    id: "5d2e9f41-0c6a-4b7e-8d13-a4f6c2e9b0d2",
    ...msTenant,
  },
  {
    address: `ops@${SECOND_TENANT_DOMAIN}`,
    displayName: "Northwind Operations",
    givenName: "Northwind",
    familyName: "Operations",
    provider: "microsoft",
    kind: "user",
    id: "9e4b1c7d-2f8a-4d3e-b6c5-7a1f0e3d9c84",
    ...secondTenant,
  },
];

export interface DemoAccount {
  address: string;
  provider: "google" | "microsoft";
  kind: Identity["kind"];
  canSignIn: boolean;
  /** Who signs in to reach this mailbox (itself, a delegate, or nobody). */
  signInAs: string | null;
  note: string;
}

/** The demo addresses and how to reach each one, for the dev script's banner. No passwords exist. */
export const DEMO_ACCOUNTS: readonly DemoAccount[] = DEMO_IDENTITIES.map((i) => {
  const note =
    i.kind === "group"
      ? `Google Group (members: ${(i.members ?? []).join(", ")}); cannot sign in`
      : i.kind === "alias"
        ? `alias of ${i.aliasOf}`
        : i.kind === "shared"
          ? `Microsoft 365 shared mailbox; sign in as ${(i.delegates ?? []).join(", ")} with .Shared scopes`
          : `${i.provider === "google" ? "Google Workspace" : "Microsoft 365"} mailbox (${i.tenantName})`;
  return {
    address: i.address,
    provider: i.provider,
    kind: i.kind,
    canSignIn: i.kind === "user",
    signInAs: i.kind === "user" ? i.address : i.kind === "shared" ? (i.delegates?.[0] ?? null) : null,
    note,
  };
});
