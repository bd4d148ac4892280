/**
 * Settings › Partner sites: the partner sites that may embed one inbox for their own signed-in users.
 * Each has exact origins, a verification key (an HS256 secret shown here once, or the URL of the
 * partner's JWKS), the inbox and what its users may do. Rotating a key or revoking a partner ends every
 * embedded session it started at once.
 */
import { useState } from "preact/hooks";
import type { InboxListItem } from "../../../../worker/contracts";
import type { EmbedPermission, PartnerView } from "../../../../worker/contracts/embed";
import { api, messageOf } from "../../lib/api";
import { formatDateTime, formatRelative, isoDate } from "../../lib/format";
import { useResource, usePageTitle } from "../../lib/hooks";
import { useAnnounce } from "../../lib/status";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { EmptyState, Loading, PageHeader } from "../../components/Layout";
import { Notice } from "../../components/Notice";
import { PartnerForm, type PartnerFormValue } from "./PartnerForm";

const PERMISSION_LABELS: Record<EmbedPermission, string> = { read: "read", reply: "reply", notes: "notes" };

/** The secret of a new or rotated HS256 key: on this screen once, never again. */
function SecretOnce({ name, secret, onDone }: { name: string; secret: string; onDone: () => void }) {
  return (
    <Notice tone="warning" title={`Signing secret for ${name}`}>
      <p>Copy it into the partner's server now. Postroom keeps it sealed and will not show it again.</p>
      <label class="visually-hidden" for="partner-secret">
        Signing secret
      </label>
      <input
        id="partner-secret"
        class="input secret-value"
        readOnly
        value={secret}
        onFocus={(e) => e.currentTarget.select()}
      />
      <button type="button" class="button button-small" onClick={onDone}>
        I have copied it
      </button>
    </Notice>
  );
}

function PartnerRow({
  partner: p,
  inboxes,
  onChanged,
  onSecret,
}: {
  partner: PartnerView;
  inboxes: InboxListItem[];
  onChanged: (p: PartnerView) => void;
  onSecret: (name: string, secret: string) => void;
}) {
  const announce = useAnnounce();
  const [editing, setEditing] = useState(false);
  const [confirm, setConfirm] = useState<"rotate" | "revoke" | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const revoked = p.revokedAt !== null;

  const act = async () => {
    setBusy(true);
    setError(null);
    try {
      if (confirm === "rotate") {
        const r = await api.rotatePartnerKey(p.id);
        onChanged(r.partner);
        if (r.secret) onSecret(r.partner.name, r.secret);
        announce(`New key for ${p.name}. Its open sessions have ended.`);
      } else {
        const r = await api.revokePartner(p.id);
        onChanged(r.partner);
        announce(`${p.name} was revoked.`);
      }
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
      setConfirm(null);
    }
  };

  const save = async (v: PartnerFormValue) => {
    const r = await api.updatePartner(p.id, {
      name: v.name,
      origins: v.origins,
      inboxId: v.inboxId,
      permissions: v.permissions,
    });
    onChanged(r.partner);
    setEditing(false);
    announce(`${r.partner.name} was saved.`);
  };

  return (
    <li class="row partner">
      <div class="row-main">
        <p class="connection-title">
          <span class="strong break">{p.name}</span>{" "}
          <span class={`health ${revoked ? "health-failing" : "health-good"}`}>{revoked ? "Revoked" : "Active"}</span>
        </p>
        <p class="muted">
          Embeds <span class="break">{p.inbox?.address ?? "no inbox (choose one)"}</span> · users may{" "}
          {p.permissions.map((x) => PERMISSION_LABELS[x]).join(", ")}
        </p>
        <p class="muted break">Origins: {p.origins.join(", ")}</p>
        <p class="muted">
          {p.keyType === "hs256" ? (
            "HS256 shared secret"
          ) : (
            <>
              JWKS at <span class="break">{p.jwksUrl}</span>
            </>
          )}{" "}
          · key {p.keyVersion} · partner id <code class="break">{p.id}</code>
          {p.keyRotatedAt !== null && (
            <>
              {" "}
              · rotated{" "}
              <time dateTime={isoDate(p.keyRotatedAt)} title={formatDateTime(p.keyRotatedAt)}>
                {formatRelative(p.keyRotatedAt)}
              </time>
            </>
          )}
        </p>
        {error && (
          <p class="field-error" role="alert">
            {error}
          </p>
        )}
        {editing && (
          <PartnerForm
            idPrefix={`edit-${p.id}`}
            inboxes={inboxes}
            initial={p}
            submitLabel="Save changes"
            onSubmit={save}
            onCancel={() => setEditing(false)}
          />
        )}
      </div>
      {!revoked && !editing && (
        <div class="row-actions">
          <button type="button" class="button button-small" onClick={() => setEditing(true)}>
            Edit<span class="visually-hidden"> {p.name}</span>
          </button>
          <button type="button" class="button button-small" onClick={() => setConfirm("rotate")}>
            Rotate key<span class="visually-hidden"> of {p.name}</span>
          </button>
          <button type="button" class="button button-small button-danger-quiet" onClick={() => setConfirm("revoke")}>
            Revoke…<span class="visually-hidden"> {p.name}</span>
          </button>
        </div>
      )}
      <ConfirmDialog
        open={confirm !== null}
        title={confirm === "rotate" ? `Rotate the key of ${p.name}?` : `Revoke ${p.name}?`}
        confirmLabel={confirm === "rotate" ? "Rotate key" : "Revoke partner"}
        tone={confirm === "rotate" ? "primary" : "danger"}
        busy={busy}
        onConfirm={() => void act()}
        onCancel={() => setConfirm(null)}
      >
        <p>
          {confirm === "rotate"
            ? p.keyType === "hs256"
              ? "A new secret is made and shown once; tokens signed with the old one stop working and open embedded sessions end."
              : "Open embedded sessions end; tokens are checked against the partner's JWKS again."
            : "Its tokens are refused from now on and open embedded sessions end. This cannot be undone."}
        </p>
      </ConfirmDialog>
    </li>
  );
}

export function PartnersPage() {
  usePageTitle("Partner sites");
  const announce = useAnnounce();
  const data = useResource(() => Promise.all([api.partners(), api.inboxes()]));
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const [list, inboxList] = data.data ?? [null, null];
  const inboxes = inboxList?.inboxes ?? [];

  const replace = (p: PartnerView) =>
    data.setData((d) => (d ? [{ ...d[0], partners: d[0].partners.map((x) => (x.id === p.id ? p : x)) }, d[1]] : d));

  const register = async (v: PartnerFormValue) => {
    const r = await api.registerPartner({
      name: v.name,
      origins: v.origins,
      inboxId: v.inboxId,
      permissions: v.permissions,
      key: v.keyType === "hs256" ? { type: "hs256" } : { type: "jwks", jwksUrl: v.jwksUrl },
    });
    data.setData((d) => (d ? [{ ...d[0], partners: [...d[0].partners, r.partner] }, d[1]] : d));
    if (r.secret) setSecret({ name: r.partner.name, secret: r.secret });
    announce(`${r.partner.name} was registered.`);
  };

  return (
    <>
      <PageHeader eyebrow="Settings" title="Partner sites">
        <p>
          Partner sites show one inbox to their own signed-in users. Their server signs a short embed token; Postroom
          checks it and never needs the partner's users to have a Postroom account.
        </p>
      </PageHeader>
      {data.loading && !data.data && <Loading />}
      {data.error !== null && (
        <Notice tone="error">
          <p>{messageOf(data.error)}</p>
        </Notice>
      )}
      {secret && <SecretOnce name={secret.name} secret={secret.secret} onDone={() => setSecret(null)} />}
      {list && (
        <section class="panel" aria-labelledby="partners-title">
          <div class="panel-header">
            <h2 id="partners-title">
              Registered partners <span class="count">{list.partners.length}</span>
            </h2>
          </div>
          {list.partners.length === 0 ? (
            <div class="panel-body">
              <EmptyState title="No partner sites yet">
                <p>Register one below to embed an inbox in its site.</p>
              </EmptyState>
            </div>
          ) : (
            <ul class="rows">
              {list.partners.map((p) => (
                <PartnerRow
                  key={p.id}
                  partner={p}
                  inboxes={inboxes}
                  onChanged={replace}
                  onSecret={(name, s) => setSecret({ name, secret: s })}
                />
              ))}
            </ul>
          )}
        </section>
      )}
      {list && (
        <section class="panel" aria-labelledby="partner-register-title">
          <div class="panel-header">
            <h2 id="partner-register-title">Register a partner site</h2>
          </div>
          <div class="panel-body">
            {inboxes.length === 0 ? (
              <p class="muted">Connect an inbox first (Settings › Inbox connections); a partner embeds one inbox.</p>
            ) : (
              <PartnerForm
                idPrefix="new-partner"
                inboxes={inboxes}
                submitLabel="Register partner"
                onSubmit={register}
              />
            )}
          </div>
          <div class="panel-body panel-body-divided">
            <h3 class="subheading">How the partner embeds it</h3>
            <p class="muted">
              Its server signs a JWT of at most 15 minutes with <code>iss</code> = the partner id, <code>aud</code> ={" "}
              <code>{list.audience}</code>, <code>sub</code> and <code>name</code> of its user, <code>inbox</code> = the
              inbox's address, <code>permissions</code>, a unique <code>jti</code> and optionally <code>contact</code>{" "}
              (only conversations with that address). The page then runs:
            </p>
            <pre class="code-block">{`<script src="${list.audience}/embed.js"></script>
<script>
  Postroom.mount(document.getElementById("inbox"), {
    token,                          // from the partner's server
    onTokenExpired: fetchNewToken,  // resolves with a fresh token
  });
</script>`}</pre>
          </div>
        </section>
      )}
    </>
  );
}
