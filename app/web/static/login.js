// The My Number card: logging in (利用者証明用電子証明書 + its 4-digit 暗証番号) and the
// card panel the signing and prefill steps share (署名用電子証明書 + its 6–16 character
// パスワード). Development offers the test card instead of the card reader app.

import { api } from "./api.js";
import { loadTestCard, missingCardFiles, signText, testCard } from "./card.js";
import { el } from "./dom.js";
import { t } from "./i18n.js";
import { afterLogin, rememberCitizenLogin, takeAfterLogin } from "./store.js";
import { notice, problemText, show } from "./ui.js";

export const client = { config: { environment: "production", test_card_enabled: false } };

/** What the card app asks for: the 4-digit PIN to log in, the signing password otherwise. */
function cardAppText(purpose) {
  return purpose === "login" ? t("cardAppLogin") : t(purpose === "prefill" ? "cardAppPrefill" : "cardAppSign");
}

/** The card picker: the test card in development, the card app hand-off otherwise. */
export function cardPanel(purpose, onLoaded) {
  if (!client.config.test_card_enabled) {
    return el("section", { class: "card-panel", "aria-label": t("cardPanelLabel") },
      el("p", {}, cardAppText(purpose)), notice(t("cardAppUnavailable")));
  }
  const input = el("input", { type: "file", id: "test-card-files", multiple: true, accept: ".pem,.cer" });
  const status = el("p", { class: "notice", role: "status", id: "test-card-status" },
    testCard() ? t("testCardLoaded") : "");
  // Files may be picked in several goes (some pickers take one file at a time).
  const picked = new Map();
  input.addEventListener("change", async () => {
    for (const file of input.files) picked.set(file.name, file);
    const missing = missingCardFiles(picked.values());
    if (missing.length) {
      status.textContent = t("testCardMissing", { files: missing.join(", ") });
      return;
    }
    try {
      await loadTestCard(picked.values());
      status.textContent = t("testCardLoaded");
      onLoaded?.();
    } catch {
      status.textContent = t("testCardInvalid");
    }
  });
  return el("section", { class: "card-panel test-card", "aria-labelledby": "test-card-title" },
    el("h2", { id: "test-card-title" }, t("testCardTitle")),
    el("p", {}, t("testCardIntro")),
    el("p", { class: "help" }, t("testCardInProduction", { what: cardAppText(purpose) })),
    el("label", { for: "test-card-files" }, t("testCardFiles")),
    input, status);
}

/**
 * Signs a fresh challenge of `purpose` with the card: {nonce, challenge_secret,
 * certificate, signature}. Only the nonce goes to the card; the secret stays here.
 */
export async function signedChallenge(purpose) {
  const challenge = await api.challenge(purpose);
  const proof = await signText(purpose === "login" ? "auth" : "sign", challenge.nonce);
  return { nonce: challenge.nonce, challenge_secret: challenge.challenge_secret, ...proof };
}

/**
 * The card login. `then` runs after it (starting an application); without it the
 * citizen goes back where they were asked to log in (an expired login resumes).
 */
export async function loginPage({ back = null, then = null } = {}) {
  const message = el("div", { "aria-live": "polite" });
  const button = el("button", { type: "button", class: "primary", id: "login-button" }, t("loginButton"));
  const resume = afterLogin();
  button.addEventListener("click", async () => {
    if (!testCard()) {
      message.replaceChildren(notice(t("needCardFirst"), "error"));
      return;
    }
    button.disabled = true;
    try {
      const login = await api.login(await signedChallenge("login"));
      rememberCitizenLogin(login.access_token, login.expires_in);
      message.replaceChildren(notice(t("loggedIn")));
      if (then) {
        await then();
      } else {
        location.hash = takeAfterLogin()?.hash || "#/me";
      }
    } catch (error) {
      message.replaceChildren(notice(`${t("loginFailed")} ${problemText(error)}`, "error"));
      button.disabled = false;
    }
  });
  show(
    back,
    el("h1", {}, t("loginTitle")),
    resume?.expired ? notice(t("sessionExpired"), "error") : null,
    el("p", {}, t(resume?.expired ? "loginAgainIntro" : "loginIntro")),
    cardPanel("login"),
    message,
    client.config.test_card_enabled ? el("div", { class: "actions" }, button) : null,
  );
}
