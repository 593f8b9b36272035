// latchkey passkeys: a small bridge between the server's WebAuthn JSON
// (base64url fields, from webauthn-rs) and navigator.credentials.
// No framework; every button is wired by its data-passkey attribute.
"use strict";

(function () {
  const b64uToBuf = (s) => {
    const pad = "=".repeat((4 - (s.length % 4)) % 4);
    const bin = atob((s + pad).replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer;
  };
  const bufToB64u = (buf) => {
    const bytes = new Uint8Array(buf);
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  const csrf = () => (document.querySelector('input[name="csrf_token"]') || {}).value || "";
  const post = async (url, body) => {
    const r = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body || {}),
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) {
      const e = new Error(data.error || "request failed (" + r.status + ")");
      // A whole sentence in the page's language, shown as it is.
      if (typeof data.message === "string") e.sentence = data.message;
      e.data = data;
      throw e;
    }
    return data;
  };
  // The fields every credential sends back, plus its response's binary fields.
  const credentialJson = (cred, response) => ({
    id: cred.id,
    rawId: bufToB64u(cred.rawId),
    type: cred.type,
    extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
    response,
  });
  // navigator.credentials.create with the server's creation options
  // (`extra`: mediation, signal), as the JSON the server reads back.
  const create = async (options, extra) => {
    const pk = options.publicKey;
    pk.challenge = b64uToBuf(pk.challenge);
    pk.user.id = b64uToBuf(pk.user.id);
    (pk.excludeCredentials || []).forEach((c) => (c.id = b64uToBuf(c.id)));
    const cred = await navigator.credentials.create(Object.assign({ publicKey: pk }, extra || {}));
    return credentialJson(cred, {
      attestationObject: bufToB64u(cred.response.attestationObject),
      clientDataJSON: bufToB64u(cred.response.clientDataJSON),
      transports: cred.response.getTransports ? cred.response.getTransports() : [],
    });
  };
  const say = (msg) => {
    const el = document.getElementById("passkey-status");
    if (el) el.textContent = msg;
  };
  // The page's words for a failure (in its language, from data-* on the
  // status line), then the browser's or server's reason.
  const failed = (key, fallback, e) => {
    if (e.sentence) return e.sentence;
    const el = document.getElementById("passkey-status");
    return ((el && el.dataset[key]) || fallback) + ": " + e.message;
  };

  // The first passkey of a password account came with backup codes: shown
  // once, in the page's hidden "Save your backup codes" section.
  const showCodes = (codes) => {
    const section = document.getElementById("new-backup-codes");
    if (!section) return window.location.assign("/account");
    const list = section.querySelector("ul");
    for (const c of codes) {
      const li = document.createElement("li");
      const code = document.createElement("code");
      code.textContent = c;
      li.appendChild(code);
      list.appendChild(li);
    }
    section.hidden = false;
    section.scrollIntoView();
  };

  async function register(button) {
    if (upgradeRequest) {
      upgradeRequest.abort();
      upgradeRequest = null;
    }
    try {
      const hint = button.dataset.hint;
      const { ceremony, options } = await post("/account/passkeys/register/start", hint ? { hint } : {});
      const credential = await create(options);
      const name = (document.getElementById("passkey-name") || {}).value || button.dataset.defaultName || "Passkey";
      const done = await post("/account/passkeys/register/finish", { ceremony, name, credential });
      if (Array.isArray(done.backup_codes) && done.backup_codes.length) {
        showCodes(done.backup_codes);
      } else {
        window.location.assign("/account");
      }
    } catch (e) {
      say(failed("addFailed", "Could not add the passkey", e));
    }
  }

  // Automatic passkey upgrade (issue #29): after a password sign-in, where
  // the browser can create a passkey without a dialog (conditional create,
  // when its password manager just filled this account's password), one is
  // made for the account; anywhere else nothing happens and the prompt stays.
  // A pending silent create blocks a modal one: "Add a passkey" aborts it.
  let upgradeRequest = null;

  async function upgrade(prompt) {
    try {
      if (!window.PublicKeyCredential || typeof PublicKeyCredential.getClientCapabilities !== "function") return;
      const caps = await PublicKeyCredential.getClientCapabilities();
      if (!caps || !caps.conditionalCreate) return;
      const { ceremony, options } = await post("/account/passkeys/register/start", {});
      upgradeRequest = new AbortController();
      const credential = await create(options, { mediation: "conditional", signal: upgradeRequest.signal });
      upgradeRequest = null;
      const done = await post("/account/passkeys/register/finish", { ceremony, name: prompt.dataset.defaultName || "Passkey", credential });
      prompt.hidden = true;
      const note = document.getElementById("passkey-upgraded");
      if (note) note.hidden = false;
      if (Array.isArray(done.backup_codes) && done.backup_codes.length) showCodes(done.backup_codes);
    } catch (_) {
      /* declined, or not allowed without a dialog: the prompt stays */
    }
  }

  // Account set-up or recovery from a mailed link: the first passkey.
  async function setupPasskey(button) {
    try {
      const base = button.dataset.base, t = button.dataset.token;
      const { ceremony, options } = await post(base + "/passkey/start", { t });
      const credential = await create(options);
      const done = await post(base + "/passkey/finish", { t, ceremony, name: "Passkey", credential });
      window.location.assign(done.redirect);
    } catch (e) {
      say(failed("createFailed", "Could not create the passkey", e));
    }
  }

  // The recovery gate of a password + passkey account: an assertion of one
  // of the account's passkeys, for the link in the page.
  async function recoverFactor(button) {
    try {
      const t = button.dataset.token;
      const { ceremony, options } = await post("/recover/factor/passkey/start", { t });
      const pk = options.publicKey;
      pk.challenge = b64uToBuf(pk.challenge);
      (pk.allowCredentials || []).forEach((c) => (c.id = b64uToBuf(c.id)));
      const cred = await navigator.credentials.get({ publicKey: pk });
      const r = cred.response;
      const credential = credentialJson(cred, {
        authenticatorData: bufToB64u(r.authenticatorData),
        clientDataJSON: bufToB64u(r.clientDataJSON),
        signature: bufToB64u(r.signature),
        userHandle: r.userHandle ? bufToB64u(r.userHandle) : null,
      });
      const done = await post("/recover/factor/passkey/finish", { t, ceremony, credential });
      window.location.assign(done.redirect);
    } catch (e) {
      say(failed("failed", "Passkey failed", e));
    }
  }

  // The WebAuthn Signal API keeps password managers in step with the
  // server: feature-detected, never awaited by anything, failures ignored.
  const signal = (name, options) => {
    try {
      const fn = window.PublicKeyCredential && PublicKeyCredential[name];
      if (typeof fn === "function") Promise.resolve(fn.call(PublicKeyCredential, options)).catch(() => {});
    } catch (_) {
      /* a browser without it, or one that refuses: nothing to do */
    }
  };
  // On the account page: the passkeys that still work and the names to show.
  const signalAccount = () => {
    const el = document.getElementById("passkey-signals");
    if (!el) return;
    const { rpId, userId, accepted, name, displayName } = el.dataset;
    signal("signalAllAcceptedCredentials", { rpId, userId, allAcceptedCredentialIds: accepted ? accepted.split(",") : [] });
    signal("signalCurrentUserDetails", { rpId, userId, name, displayName });
  };

  // A pending autofill (conditional) request blocks a modal one: abort it first.
  let conditionalRequest = null;

  async function signIn(conditional, secondFactor, hint) {
    if (conditionalRequest) {
      conditionalRequest.abort();
      conditionalRequest = null;
    }
    const authz = (document.querySelector('input[name="authz"]') || {}).value || null;
    const next = (document.querySelector('input[name="next"]') || {}).value || null;
    const body = secondFactor ? { second_factor: secondFactor } : { authz, next, conditional };
    if (hint) body.hint = hint;
    // The autofill request is abortable from its start: a click while its
    // challenge is still on the way must not leave two requests pending.
    const mine = conditional ? (conditionalRequest = new AbortController()) : null;
    const { ceremony, options } = await post("/login/passkey/start", body);
    if (mine && mine.signal.aborted) return;
    const pk = options.publicKey;
    pk.challenge = b64uToBuf(pk.challenge);
    (pk.allowCredentials || []).forEach((c) => (c.id = b64uToBuf(c.id)));
    const request = { publicKey: pk };
    if (mine) {
      request.mediation = "conditional";
      request.signal = mine.signal;
    }
    const cred = await navigator.credentials.get(request);
    const r = cred.response;
    const credential = credentialJson(cred, {
      authenticatorData: bufToB64u(r.authenticatorData),
      clientDataJSON: bufToB64u(r.clientDataJSON),
      signature: bufToB64u(r.signature),
      userHandle: r.userHandle ? bufToB64u(r.userHandle) : null,
    });
    let done;
    try {
      done = await post("/login/passkey/finish", { ceremony, credential });
    } catch (e) {
      // A passkey the server no longer knows: the password manager may forget it.
      if (e.data && e.data.error === "unknown_credential") signal("signalUnknownCredential", { rpId: e.data.rp_id || pk.rpId, credentialId: credential.id });
      throw e;
    }
    window.location.assign(done.redirect);
  }

  document.addEventListener("DOMContentLoaded", () => {
    signalAccount();
    const prompt = document.querySelector("[data-passkey-upgrade]");
    if (prompt) upgrade(prompt);
    const setup = document.querySelector('[data-passkey="setup"]');
    if (setup) setup.addEventListener("click", () => setupPasskey(setup));
    const factor = document.querySelector('[data-passkey="recover-factor"]');
    if (factor) factor.addEventListener("click", () => recoverFactor(factor));
    // "Add a passkey" and "Use a security key" (a hint for the browser's dialog).
    document.querySelectorAll('[data-passkey="register"]').forEach((add) => add.addEventListener("click", () => register(add)));
    const btn = document.querySelector('[data-passkey="sign-in"]');
    document.querySelectorAll('[data-passkey="sign-in"]').forEach((b) =>
      b.addEventListener("click", () => signIn(false, null, b.dataset.hint).catch((e) => say(failed("signInFailed", "Passkey sign-in failed", e)))),
    );
    const second = document.querySelector('[data-passkey="second-factor"]');
    if (second) {
      const m = (document.querySelector('input[name="m"]') || {}).value;
      second.addEventListener("click", () => signIn(false, m).catch((e) => say(failed("failed", "Passkey failed", e))));
    }
    // Passkey autofill on the Username field, where the browser supports it.
    if (btn && window.PublicKeyCredential && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then((ok) => {
        if (ok) signIn(true).catch(() => {});
      });
    }
  });
})();
