import { type HttpBindings } from "@hono/node-server";
import { type Faults } from "./admin/faults";
import { type OAuthClient } from "./auth/clients";
import { type AuthStore } from "./auth/store";
import { type Tunables } from "./config";
import { type Clock } from "./core/clock";
import { type SigningKey } from "./core/keys";
import { type PushChannel } from "./core/push-channel";
import { type ConcurrencyGate, type RateBuckets } from "./core/quota";
import { type Directory } from "./world/directory";
import { type PostOffice } from "./world/post-office";
import { type Mailboxes } from "./world/world";

export interface PubSubRoute {
  topicName: string;
  pushEndpoint: string;
  audience?: string;
}

/** Everything the routes share. One per running emulator; nothing here is module-global. */
export interface EmulatorContext {
  tunables: Tunables;
  clock: Clock;
  directory: Directory;
  mailboxes: Mailboxes;
  postOffice: PostOffice;
  auth: AuthStore;
  clients: { google: OAuthClient[]; microsoft: OAuthClient[] };
  keys: { google: SigningKey; microsoft: SigningKey };
  faults: Faults;
  channels: { gmail: PushChannel; graph: PushChannel };
  quotas: { gmail: RateBuckets; graph: RateBuckets; gmailGate: ConcurrencyGate; graphGate: ConcurrencyGate };
  /** Called after a successful Gmail watch(): Gmail sends one notification straight away. */
  onWatch(address: string): void;
  /** The base URL once listening (http://127.0.0.1:port). */
  baseUrl(): string;
  googleIssuer(): string;
  /** Issuer prefix; the tenant-specific issuer is `${prefix}/${tenantId}/v2.0`. */
  microsoftIssuerBase(): string;
  pubsub: {
    defaultEndpoint: string | undefined;
    audience: string | undefined;
    serviceAccountEmail: string;
    routes: Map<string, PubSubRoute>;
  };
}

export type AppEnv = { Bindings: HttpBindings };
