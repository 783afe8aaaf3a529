// The citizen client: choose a procedure, log in with the My Number card when the
// procedure needs it, fill in (drafts saved on the server, resumable), review, sign,
// pay, and follow everything in マイページ. Hash routes (#/...) so the server serves one
// page. Each screen lives in its own module; this one routes and draws the frame.

import { ApiError, NetworkError, api } from "./api.js";
import { donePage, keepTyping, leavePage, reviewPage, stepPage } from "./apply.js";
import { municipalitiesPage, procedureLoginPage, procedurePage, proceduresPage } from "./catalog.js";
import { el } from "./dom.js";
import { lang, setLang, t } from "./i18n.js";
import { accessibilityPage, privacyPage } from "./info.js";
import { client, loginPage } from "./login.js";
import { myPage, statusPage } from "./mypage.js";
import { forgetApplication } from "./store.js";
import { askToLogInAgain, link, loginExpired, main, problemText, show } from "./ui.js";

function renderChrome() {
  document.documentElement.lang = lang();
  document.title = t("siteName");
  const text = {
    "site-name": "siteName", "skip-link": "skipLink", "footer-text": "footer",
    "nav-mypage": "myPageTitle", "footer-privacy": "privacyTitle",
    "footer-accessibility": "accessibilityTitle",
  };
  for (const [id, key] of Object.entries(text)) document.getElementById(id).textContent = t(key);
  document.getElementById("site-nav").setAttribute("aria-label", t("siteNavigation"));
  const toggle = document.getElementById("lang-switch");
  toggle.textContent = t("switchLanguage");
  toggle.lang = t("switchLanguageLang");
  const banner = document.getElementById("dev-banner");
  banner.hidden = !client.config.test_card_enabled;
  banner.textContent = t("devBanner", { environment: client.config.environment });
}

const SUBMISSION = "([0-9a-f-]{36})";
const ROUTES = [
  [/^#\/?$/, () => municipalitiesPage()],
  [/^#\/m\/(\d{6})$/, (code) => proceduresPage(code)],
  [/^#\/m\/(\d{6})\/p\/([a-z0-9_-]+)$/, (code, p) => procedurePage(code, p)],
  [/^#\/m\/(\d{6})\/p\/([a-z0-9_-]+)\/login$/, (code, p) => procedureLoginPage(code, p)],
  [/^#\/login$/, () => loginPage()],
  [/^#\/me$/, () => myPage()],
  [/^#\/privacy$/, () => privacyPage()],
  [/^#\/accessibility$/, () => accessibilityPage()],
  [new RegExp(`^#/s/${SUBMISSION}/step/(\\d+)$`), (id, n) => stepPage(id, Number(n))],
  [new RegExp(`^#/s/${SUBMISSION}/review$`), (id) => reviewPage(id)],
  [new RegExp(`^#/s/${SUBMISSION}/done$`), (id) => donePage(id)],
  [new RegExp(`^#/s/${SUBMISSION}$`), (id) => statusPage(id)],
];

function notFound(id) {
  // Deleted, purged after its retention period, or not this device's / card's.
  forgetApplication(id);
  show(el("h1", {}, t("notFound")), el("p", {}, t("notFoundIntro")),
    el("p", {}, link("#/me", t("openMyPage"))), el("p", {}, link("#/", t("newApplication"))));
}

/** An unexpected failure (the server or the network): said plainly, with a way on. */
function errorPage(error) {
  const retry = el("button", { type: "button", class: "secondary", id: "error-retry" }, t("tryAgain"));
  retry.addEventListener("click", () => route());
  const detail = error instanceof NetworkError ? t("networkError") : problemText(error);
  show(
    el("h1", {}, t("errorPageTitle")),
    el("p", {}, t("errorPageIntro")),
    detail ? el("p", { id: "error-detail" }, detail) : null,
    el("div", { class: "actions" }, retry),
    el("p", {}, link("#/me", t("openMyPage"))),
    el("p", {}, link("#/", t("backToStart"))),
  );
}

async function route() {
  const hash = location.hash || "#/";
  leavePage();
  for (const [pattern, handler] of ROUTES) {
    const match = hash.match(pattern);
    if (!match) continue;
    try {
      await handler(...match.slice(1));
    } catch (error) {
      // An expired card login is not a missing application: log in again, come back.
      if (loginExpired(error)) return askToLogInAgain(hash);
      if (error instanceof ApiError && error.status === 404 && hash.startsWith("#/s/")) {
        return notFound(match[1]);
      }
      errorPage(error);
    }
    return;
  }
  // An unknown address (an old bookmark, `#main`): the start page, without a reload loop.
  history.replaceState(null, "", `${location.pathname}${location.search}#/`);
  await route();
}

async function boot() {
  try {
    client.config = await api.clientConfig();
  } catch {
    // Without the config, offer nothing development-only.
  }
  document.getElementById("lang-switch").addEventListener("click", () => {
    keepTyping();
    setLang(lang() === "ja" ? "en" : "ja");
    renderChrome();
    route();
  });
  // The skip link moves the focus; it must not change the address (a reload of `#main`
  // would otherwise show no page).
  document.getElementById("skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    main.focus();
  });
  renderChrome();
  window.addEventListener("hashchange", route);
  await route();
}

boot();
