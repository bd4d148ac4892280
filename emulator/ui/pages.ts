import { escapeHtml } from "../core/encoding";

export interface PickerAccount {
  address: string;
  displayName: string;
  disabled: boolean;
  note?: string;
}

export interface ScopeChoice {
  value: string;
  label: string;
  /** Sign-in scopes are granted with the account and cannot be unticked (as on Google's screen). */
  required: boolean;
}

export interface ConsentPage {
  brand: "Google" | "Microsoft";
  clientName: string;
  formAction: string;
  pendingId: string;
  accounts: PickerAccount[];
  selected: string | undefined;
  scopes: ScopeChoice[];
  /** Google lets the user untick scopes one by one; Microsoft consent is all or nothing. */
  granular: boolean;
  error?: string;
}

const style = `
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f4f5f7;margin:0;color:#1f2328}
main{max-width:460px;margin:48px auto;background:#fff;border:1px solid #d0d7de;border-radius:10px;padding:28px 32px}
h1{font-size:20px;margin:0 0 4px} p.sub{color:#57606a;margin:0 0 20px}
.badge{display:inline-block;font-size:12px;padding:2px 8px;border-radius:10px;background:#fff8c5;color:#7d4e00;margin-bottom:12px}
fieldset{border:0;padding:0;margin:0 0 18px} legend{font-weight:600;margin-bottom:8px}
label.acct{display:flex;gap:10px;align-items:flex-start;padding:10px;border:1px solid #d0d7de;border-radius:8px;margin-bottom:8px;cursor:pointer}
label.acct.disabled{opacity:.55;cursor:not-allowed} .note{display:block;font-size:12px;color:#57606a}
label.scope{display:flex;gap:8px;padding:6px 0} .err{background:#ffebe9;border:1px solid #ff8182;padding:8px 10px;border-radius:6px;margin-bottom:14px}
.actions{display:flex;gap:10px;justify-content:flex-end} button{font-size:14px;padding:8px 18px;border-radius:6px;border:1px solid #d0d7de;background:#f6f8fa;cursor:pointer}
button.primary{background:#0969da;color:#fff;border-color:#0969da}`;

export function renderConsentPage(p: ConsentPage): string {
  const accounts = p.accounts
    .map((a) => {
      const checked = a.address === p.selected && !a.disabled ? " checked" : "";
      const disabled = a.disabled ? " disabled" : "";
      return `<label class="acct${a.disabled ? " disabled" : ""}"><input type="radio" name="account" value="${escapeHtml(a.address)}"${checked}${disabled} data-testid="account-${escapeHtml(a.address)}"><span><strong>${escapeHtml(a.displayName)}</strong><span class="note">${escapeHtml(a.address)}${a.note ? ` · ${escapeHtml(a.note)}` : ""}</span></span></label>`;
    })
    .join("\n");
  const scopes = p.scopes
    .map((s) => {
      if (s.required || !p.granular) {
        return `<input type="hidden" name="scope" value="${escapeHtml(s.value)}"><label class="scope"><input type="checkbox" checked disabled> ${escapeHtml(s.label)}</label>`;
      }
      return `<label class="scope"><input type="checkbox" name="scope" value="${escapeHtml(s.value)}" checked data-testid="scope-${escapeHtml(s.value)}"> ${escapeHtml(s.label)}</label>`;
    })
    .join("\n");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in - ${p.brand} (sandbox)</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${style}</style></head><body><main>
<span class="badge">${p.brand} sandbox · Postroom provider emulator</span>
<h1>Choose an account</h1><p class="sub">to continue to <strong>${escapeHtml(p.clientName)}</strong></p>
${p.error ? `<div class="err" role="alert">${escapeHtml(p.error)}</div>` : ""}
<form method="post" action="${escapeHtml(p.formAction)}">
<input type="hidden" name="request" value="${escapeHtml(p.pendingId)}">
<fieldset><legend>Account</legend>${accounts}</fieldset>
<fieldset><legend>${escapeHtml(p.clientName)} wants to:</legend>${scopes}</fieldset>
<div class="actions"><button type="submit" name="decision" value="deny">Cancel</button><button class="primary" type="submit" name="decision" value="allow">${p.granular ? "Continue" : "Accept"}</button></div>
</form></main></body></html>`;
}

export function renderErrorPage(brand: string, code: string, description: string, status: number): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Error ${status}: ${escapeHtml(code)}</title>
<meta name="oauth-error" content="${escapeHtml(code)}"><style>${style}</style></head><body><main>
<span class="badge">${escapeHtml(brand)} sandbox</span><h1>Error ${status}: ${escapeHtml(code)}</h1><p>${escapeHtml(description)}</p></main></body></html>`;
}

/** response_mode=form_post: the browser re-posts the result to the redirect URI. */
export function renderFormPost(action: string, fields: Record<string, string>): string {
  const inputs = Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join("");
  return `<!doctype html><html><head><title>Working...</title></head><body onload="document.forms[0].submit()"><form method="post" action="${escapeHtml(action)}">${inputs}<noscript><button type="submit">Continue</button></noscript></form></body></html>`;
}
