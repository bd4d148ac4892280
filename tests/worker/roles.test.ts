import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { canChangeRole, canInvite, canRemove } from "../../worker/lib/role-policy";
import { addContributor, invite, signUp, uniqueEmail, type Actor } from "../support/accounts";
import { call } from "../support/http";

type Who = "owner" | "admin" | "member" | "light" | "contributor" | "signedOut";

async function sha256Hex(value: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value)));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Contributors cannot sign in, so their session is planted directly to prove the API refuses it anyway. */
async function contributorCookie(accountId: string): Promise<string> {
  const { userId } = await addContributor(accountId);
  const id = crypto.randomUUID().replace(/-/g, "") + "contrib";
  await env.DB.prepare(
    `INSERT INTO sessions (id_hash, account_id, user_id, created_at, expires_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)`,
  )
    .bind(await sha256Hex(id), accountId, userId, Date.now(), Date.now() + 3600_000, Date.now())
    .run();
  return `__Host-postroom_session=${id}`;
}

interface World {
  owner: Actor;
  cookies: Record<Who, string>;
}

async function world(): Promise<World> {
  const owner = await signUp("Matrix");
  const admin = await invite(owner, "admin");
  const member = await invite(owner, "member");
  const light = await invite(owner, "light");
  return {
    owner,
    cookies: {
      owner: owner.cookie,
      admin: admin.cookie,
      member: member.cookie,
      light: light.cookie,
      contributor: await contributorCookie(owner.accountId),
      signedOut: "",
    },
  };
}

const ALL: Who[] = ["owner", "admin", "member", "light", "contributor", "signedOut"];
const expectedStatus = (who: Who, allowedFor: Who[], okStatus: number) =>
  who === "signedOut" ? 401 : allowedFor.includes(who) ? okStatus : 403;

describe("permission matrix for the users and invites routes", () => {
  let w: World;
  beforeAll(async () => {
    w = await world();
  });

  /** Each case makes its own target, so a permitted call never disturbs the next one. */
  const cases: {
    name: string;
    allowed: Who[];
    ok: number;
    run: (cookie: string) => Promise<{ status: number }>;
  }[] = [
    {
      name: "GET /api/users",
      allowed: ["owner", "admin", "member", "light"],
      ok: 200,
      run: (cookie) => call("/api/users", { cookie }),
    },
    {
      name: "PATCH /api/users/:id",
      allowed: ["owner", "admin"],
      ok: 200,
      run: async (cookie) => {
        const target = await invite(w.owner, "member");
        return call(`/api/users/${target.userId}`, { cookie, method: "PATCH", body: { role: "light" } });
      },
    },
    {
      name: "DELETE /api/users/:id",
      allowed: ["owner", "admin"],
      ok: 204,
      run: async (cookie) => {
        const target = await invite(w.owner, "light");
        return call(`/api/users/${target.userId}`, { cookie, method: "DELETE" });
      },
    },
    {
      name: "GET /api/invites",
      allowed: ["owner", "admin"],
      ok: 200,
      run: (cookie) => call("/api/invites", { cookie }),
    },
    {
      name: "POST /api/invites",
      allowed: ["owner", "admin"],
      ok: 201,
      run: (cookie) => call("/api/invites", { cookie, body: { email: uniqueEmail("m"), role: "member" } }),
    },
    {
      name: "POST /api/invites/:id/resend",
      allowed: ["owner", "admin"],
      ok: 200,
      run: async (cookie) => {
        const inv = await call("/api/invites", {
          cookie: w.owner.cookie,
          body: { email: uniqueEmail("r"), role: "member" },
        });
        return call(`/api/invites/${inv.json.invite.id}/resend`, { cookie, method: "POST" });
      },
    },
    {
      name: "DELETE /api/invites/:id",
      allowed: ["owner", "admin"],
      ok: 204,
      run: async (cookie) => {
        const inv = await call("/api/invites", {
          cookie: w.owner.cookie,
          body: { email: uniqueEmail("d"), role: "member" },
        });
        return call(`/api/invites/${inv.json.invite.id}`, { cookie, method: "DELETE" });
      },
    },
    { name: "GET /api/audit", allowed: ["owner", "admin"], ok: 200, run: (cookie) => call("/api/audit", { cookie }) },
    {
      name: "GET /api/me",
      allowed: ["owner", "admin", "member", "light"],
      ok: 200,
      run: (cookie) => call("/api/me", { cookie }),
    },
    {
      name: "GET /api/inboxes",
      allowed: ["owner", "admin", "member", "light"],
      ok: 200,
      run: (cookie) => call("/api/inboxes", { cookie }),
    },
  ];

  for (const c of cases) {
    for (const who of ALL) {
      const status = expectedStatus(who, c.allowed, c.ok);
      it(`${c.name} as ${who} → ${status}`, async () => {
        const r = await c.run(w.cookies[who]);
        expect(r.status).toBe(status);
      });
    }
  }
});

describe("owner protections", () => {
  it("an admin cannot grant the owner role, change an owner, remove an owner, or invite an owner", async () => {
    const owner = await signUp();
    const admin = await invite(owner, "admin");
    const member = await invite(owner, "member");
    const grant = await call(`/api/users/${member.userId}`, {
      cookie: admin.cookie,
      method: "PATCH",
      body: { role: "owner" },
    });
    expect(grant.status).toBe(403);
    const demote = await call(`/api/users/${owner.userId}`, {
      cookie: admin.cookie,
      method: "PATCH",
      body: { role: "member" },
    });
    expect(demote.status).toBe(403);
    const remove = await call(`/api/users/${owner.userId}`, { cookie: admin.cookie, method: "DELETE" });
    expect(remove.status).toBe(403);
    const inv = await call("/api/invites", { cookie: admin.cookie, body: { email: uniqueEmail("o"), role: "owner" } });
    expect(inv.status).toBe(403);
    const me = await call("/api/me", { cookie: owner.cookie });
    expect(me.json.user.role).toBe("owner");
  });

  it("the last owner can be neither demoted nor removed, by anyone including themselves", async () => {
    const owner = await signUp();
    const demote = await call(`/api/users/${owner.userId}`, {
      cookie: owner.cookie,
      method: "PATCH",
      body: { role: "admin" },
    });
    expect(demote.status).toBe(409);
    expect(demote.json.error.code).toBe("last_owner");
    const remove = await call(`/api/users/${owner.userId}`, { cookie: owner.cookie, method: "DELETE" });
    expect(remove.status).toBe(409);
    expect((await call("/api/me", { cookie: owner.cookie })).json.user.role).toBe("owner");
  });

  it("with a second owner, one owner can step down, and then the other is the last", async () => {
    const owner = await signUp();
    const second = await invite(owner, "owner");
    const stepDown = await call(`/api/users/${owner.userId}`, {
      cookie: owner.cookie,
      method: "PATCH",
      body: { role: "admin" },
    });
    expect(stepDown.status).toBe(200);
    expect(stepDown.json.user.role).toBe("admin");
    const removeLast = await call(`/api/users/${second.userId}`, { cookie: second.cookie, method: "DELETE" });
    expect(removeLast.status).toBe(409);
  });

  it("removing a user ends their sessions and their inbox access", async () => {
    const owner = await signUp();
    const member = await invite(owner, "member");
    expect((await call("/api/me", { cookie: member.cookie })).status).toBe(200);
    expect((await call(`/api/users/${member.userId}`, { cookie: owner.cookie, method: "DELETE" })).status).toBe(204);
    expect((await call("/api/me", { cookie: member.cookie })).status).toBe(401);
    const list = await call("/api/users", { cookie: owner.cookie });
    expect(list.json.users.map((u: { id: string }) => u.id)).not.toContain(member.userId);
  });
});

describe("role policy (pure)", () => {
  const roles = ["owner", "admin", "member", "light", "contributor"] as const;
  const invitable = ["owner", "admin", "member", "light"] as const;
  it("only owners and admins manage anyone, and only owners touch owners", () => {
    for (const actor of roles) {
      for (const target of roles) {
        for (const next of invitable) {
          const expected = actor === "owner" || (actor === "admin" && target !== "owner" && next !== "owner");
          expect(canChangeRole(actor, target, next), `${actor} sets ${target} to ${next}`).toBe(expected);
        }
        expect(canRemove(actor, target)).toBe(actor === "owner" || (actor === "admin" && target !== "owner"));
      }
      for (const role of invitable) {
        expect(canInvite(actor, role)).toBe(actor === "owner" || (actor === "admin" && role !== "owner"));
      }
    }
  });
});
