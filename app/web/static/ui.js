// What every screen of the citizen client shares: showing a page, links, notices, the
// error summary, an inline confirmation, and the way back after a card login expires.

import { ApiError, NetworkError } from "./api.js";
import { el } from "./dom.js";
import { errorMessage } from "./form.js";
import { lang, t } from "./i18n.js";
import { setAfterLogin } from "./store.js";

export const main = document.getElementById("main");

export function show(...children) {
  main.replaceChildren(...children.flat(Infinity).filter((child) => child != null && child !== false));
  const heading = main.querySelector("h1");
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
}

export function link(href, text, className) {
  return el("a", { href, class: className || null }, text);
}

export function notice(text, kind = "info") {
  return el("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

export function problemText(error) {
  if (error instanceof NetworkError) return t("networkError");
  if (!(error instanceof ApiError)) return "";
  const problem = error.problem;
  return (lang() === "ja" ? problem.detail_ja : problem.detail) || problem.detail || "";
}

/** The error summary at the top: every problem, each linking to its field. */
export function errorSummary(errors, onSelect) {
  const items = errors.map((error) => {
    const text = error.label ? `${error.label}: ${errorMessage(error)}` : errorMessage(error);
    const anchor = el("a", { href: `#${error.targetId || ""}` }, text);
    anchor.addEventListener("click", (event) => {
      event.preventDefault();
      onSelect(error);
    });
    return el("li", {}, anchor);
  });
  return el("div", {
    class: "error-summary", role: "alert", tabindex: "-1", "aria-labelledby": "error-summary-title",
  },
  el("h2", { id: "error-summary-title" }, t("errorSummaryTitle")),
  el("p", {}, t("errorSummaryCount", { count: errors.length })),
  el("ul", {}, items));
}

/**
 * An inline confirmation in `slot` (no browser dialog): the question, optional extra
 * controls, and two buttons. Resolves true when confirmed; the focus moves to it, and back
 * to the control that asked when it is dismissed.
 */
export function confirmInline(slot, { title, text, confirm, extra = null, danger = false }) {
  // Where the focus goes back to when the question is dismissed (the button that asked).
  const opener = document.activeElement;
  return new Promise((resolve) => {
    const yes = el("button", { type: "button", class: danger ? "danger" : "primary" }, confirm);
    const no = el("button", { type: "button", class: "secondary" }, t("cancel"));
    const titleId = `confirm-${crypto.randomUUID()}`;
    const panel = el("section", { class: "confirm", tabindex: "-1", "aria-labelledby": titleId },
      el("h3", { id: titleId }, title),
      text ? el("p", {}, text) : null,
      extra,
      el("div", { class: "actions" }, yes, no));
    yes.addEventListener("click", () => {
      yes.disabled = true;
      resolve(true);
    });
    no.addEventListener("click", () => {
      slot.replaceChildren();
      if (opener?.isConnected) opener.focus();
      resolve(false);
    });
    slot.replaceChildren(panel);
    panel.focus();
  });
}

/** A 401 means the card login expired (or this tab never had it): log in, then come back. */
export function loginExpired(error) {
  return error instanceof ApiError && error.status === 401;
}

export function askToLogInAgain(returnTo = location.hash) {
  setAfterLogin(returnTo, true);
  location.hash = "#/login";
}
