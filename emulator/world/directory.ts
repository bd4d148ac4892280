export type Provider = "google" | "microsoft";

/**
 * user: a person's (or a team's) own sign-in account with a mailbox.
 * shared: a Microsoft 365 shared mailbox; nobody signs in to it, delegates reach it with `.Shared` scopes.
 * group: a Google Group address; it cannot sign in, mail to it fans out to members.
 * alias: another address of an existing mailbox.
 */
export type IdentityKind = "user" | "shared" | "group" | "alias";

export interface Identity {
  address: string;
  displayName: string;
  givenName: string;
  familyName: string;
  provider: Provider;
  kind: IdentityKind;
  /** Google: numeric `sub`; Microsoft: the user's object id (GUID). */
  id: string;
  tenantId: string;
  tenantDomain: string;
  tenantName: string;
  aliasOf?: string;
  members?: string[];
  /** Microsoft: users with full access and send-as on this mailbox. */
  delegates?: string[];
}

export const canSignIn = (i: Identity): boolean => i.kind === "user";
export const hasMailbox = (i: Identity): boolean => i.kind === "user" || i.kind === "shared";

export class Directory {
  readonly #byAddress = new Map<string, Identity>();

  constructor(identities: Identity[]) {
    for (const i of identities) this.#byAddress.set(i.address.toLowerCase(), i);
  }

  all(): Identity[] {
    return [...this.#byAddress.values()];
  }

  get(address: string): Identity | undefined {
    return this.#byAddress.get(address.trim().toLowerCase());
  }

  byId(id: string): Identity | undefined {
    return this.all().find((i) => i.id.toLowerCase() === id.toLowerCase());
  }

  signInAccounts(provider: Provider): Identity[] {
    return this.all().filter((i) => i.provider === provider && (i.kind === "user" || i.kind === "group"));
  }

  /** Mailbox addresses a message to `address` lands in (aliases and groups resolved). */
  resolveRecipient(address: string, seen = new Set<string>()): string[] {
    const identity = this.get(address);
    if (!identity || seen.has(identity.address)) return [];
    seen.add(identity.address);
    if (identity.kind === "alias" && identity.aliasOf) return this.resolveRecipient(identity.aliasOf, seen);
    if (identity.kind === "group") return (identity.members ?? []).flatMap((m) => this.resolveRecipient(m, seen));
    return [identity.address];
  }

  /** Mailboxes a signed-in user may open: their own, plus shared mailboxes they are a delegate of. */
  delegatedMailboxes(user: string): Identity[] {
    const lower = user.toLowerCase();
    return this.all().filter((i) => i.kind === "shared" && (i.delegates ?? []).some((d) => d.toLowerCase() === lower));
  }
}
