import { EventEmitter } from "node:events";
import { type Directory, type Identity } from "./directory";
import { type GmailChange, GmailMailbox, type GmailMailboxState } from "./gmail-mailbox";
import { type GraphMailboxChange, GraphMailbox, type GraphMailboxState } from "./graph-mailbox";

export interface OutboundMail {
  at: number;
  from: string;
  to: string[];
  /** Which mailbox sent it (the provider account), for tests that check what left the sandbox. */
  via: string;
  raw: string;
}

export interface MailboxesState {
  gmail: Record<string, GmailMailboxState>;
  graph: Record<string, GraphMailboxState>;
  outbox: OutboundMail[];
}

export interface WorldEvents {
  gmail: [GmailChange];
  graph: [GraphMailboxChange];
  changed: [];
}

/** All mailboxes of the sandbox, keyed by address, with one change feed for push delivery and persistence. */
export class Mailboxes {
  readonly events = new EventEmitter<WorldEvents>();
  readonly state: MailboxesState;
  readonly directory: Directory;
  readonly #gmail = new Map<string, GmailMailbox>();
  readonly #graph = new Map<string, GraphMailbox>();

  constructor(state: MailboxesState, directory: Directory) {
    this.state = state;
    this.directory = directory;
    for (const [address, s] of Object.entries(state.gmail)) this.#gmail.set(address, this.#wrapGmail(s));
    for (const [address, s] of Object.entries(state.graph)) this.#graph.set(address, this.#wrapGraph(s));
  }

  #wrapGmail(s: GmailMailboxState): GmailMailbox {
    return new GmailMailbox(s, (change) => {
      this.events.emit("gmail", change);
      this.events.emit("changed");
    });
  }

  #wrapGraph(s: GraphMailboxState): GraphMailbox {
    return new GraphMailbox(s, (change) => {
      this.events.emit("graph", change);
      this.events.emit("changed");
    });
  }

  ensure(identity: Identity, startHistoryId: number): void {
    const key = identity.address.toLowerCase();
    if (identity.provider === "google" && !this.#gmail.has(key)) {
      const s = GmailMailbox.create(key, startHistoryId);
      this.state.gmail[key] = s;
      this.#gmail.set(key, this.#wrapGmail(s));
    }
    if (identity.provider === "microsoft" && !this.#graph.has(key)) {
      const s = GraphMailbox.create(key, identity.id, identity.tenantId);
      this.state.graph[key] = s;
      this.#graph.set(key, this.#wrapGraph(s));
    }
  }

  gmail(address: string): GmailMailbox | undefined {
    return this.#gmail.get(address.toLowerCase());
  }

  graph(address: string): GraphMailbox | undefined {
    return this.#graph.get(address.toLowerCase());
  }

  gmailAll(): GmailMailbox[] {
    return [...this.#gmail.values()];
  }

  graphAll(): GraphMailbox[] {
    return [...this.#graph.values()];
  }

  recordOutbound(mail: OutboundMail): void {
    this.state.outbox.push(mail);
    this.events.emit("changed");
  }
}
