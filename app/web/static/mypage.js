// マイページ: every application made on this device and, after a card login, every one
// made with the card (`/me/submissions`); and the status page of one application. Both
// offer what the status allows: continue or delete a draft, correct and resubmit a
// returned one, pay, withdraw (取下げ).

import { ApiError, api } from "./api.js";
import { feeTable, returnPanel } from "./apply.js";
import { procedureOf } from "./catalog.js";
import { el } from "./dom.js";
import { dateTime, loc, t, yen } from "./i18n.js";
import { amountDue, paymentSection } from "./payment.js";
import {
  citizenLogin,
  deviceApplications,
  forgetApplication,
  forgetCitizenLogin,
  rememberApplication,
  setAfterLogin,
  takePaymentReturn,
  setPaymentReturn,
  tokenFor,
} from "./store.js";
import {
  askToLogInAgain, confirmInline, link, loginExpired, notice, problemText, show,
} from "./ui.js";

const WITHDRAWABLE = ["draft", "submitted", "awaiting_payment", "paid", "in_review", "returned", "resubmitted"];

/** The links and buttons an application offers in its status; `changed` re-renders. */
function applicationActions(submission, changed, { onStatusPage = false } = {}) {
  const id = submission.id;
  const slot = el("div", { class: "confirm-slot" });
  const actions = el("div", { class: "actions" });
  const title = loc(submission.title);
  if (submission.status === "draft") {
    actions.append(link(`#/s/${id}/step/${deviceApplications()[id]?.step || 0}`, t("continueDraft"), "button-link"));
  }
  if (submission.status === "returned") {
    actions.append(link(`#/s/${id}/step/0`, t("correctAndResubmit"), "button-link"));
  }
  if (!onStatusPage && submission.status !== "draft") {
    actions.append(link(`#/s/${id}`, t("viewStatus"), "secondary-link"));
  }
  if (submission.status === "draft") {
    const remove = el("button", { type: "button", class: "link-button danger-link" }, t("discardDraft"));
    remove.addEventListener("click", async () => {
      const confirmed = await confirmInline(slot, {
        title: t("discardDraftConfirmTitle"), text: t("discardDraftConfirm", { title }),
        confirm: t("discardDraft"), danger: true,
      });
      if (!confirmed) return;
      try {
        await api.deleteDraft(id, tokenFor(id));
        forgetApplication(id);
        changed(t("draftDeleted", { title }), { gone: true });
      } catch (error) {
        failed(slot, error);
      }
    });
    actions.append(remove);
  } else if (WITHDRAWABLE.includes(submission.status)) {
    const withdraw = el("button", { type: "button", class: "link-button danger-link" }, t("withdraw"));
    withdraw.addEventListener("click", async () => {
      const reasonId = `withdraw-reason-${id}`;
      const reason = el("textarea", { id: reasonId, rows: 2, maxlength: 500 });
      const confirmed = await confirmInline(slot, {
        title: t("withdrawConfirmTitle"), text: t("withdrawConfirm", { title }),
        confirm: t("withdraw"), danger: true,
        extra: el("div", { class: "field" }, el("label", { for: reasonId }, t("withdrawReason"), " ",
          el("span", { class: "tag" }, t("optional"))), reason),
      });
      if (!confirmed) return;
      try {
        await api.withdraw(id, reason.value.trim() || null, tokenFor(id));
        rememberApplication({ id, status: "withdrawn" });
        changed(t("withdrawn", { title }));
      } catch (error) {
        failed(slot, error);
      }
    });
    actions.append(withdraw);
  }
  return [actions, slot];
}

function failed(slot, error) {
  if (loginExpired(error)) return askToLogInAgain();
  const missing = error instanceof ApiError && (error.status === 404 || error.status === 405);
  // 409: sent or decided meanwhile (another tab, staff); trying again later would not help.
  const now = error instanceof ApiError && error.status === 409
    && (error.problem.current_status || error.problem.from);
  const text = missing ? t("actionUnavailable")
    : now ? t("actionConflict", { status: t(`status_${now}`) })
    : `${t("genericError")} ${problemText(error)}`;
  const message = notice(text, "error");
  // The question's button is gone: the focus goes to what happened instead.
  message.tabIndex = -1;
  slot.replaceChildren(message);
  message.focus();
}

/** One application as マイページ lists it. */
function applicationCard(item, changed) {
  const { submission } = item;
  const headingId = `app-${submission.id}`;
  const due = amountDue(submission);
  return el("article", { class: "application", "aria-labelledby": headingId, "data-id": submission.id },
    el("h2", { id: headingId }, loc(submission.title)),
    el("p", {}, el("span", { class: `status status-${submission.status}` }, t(`status_${submission.status}`))),
    el("dl", { class: "facts" },
      el("dt", {}, t("referenceNumber")), el("dd", {}, submission.reference_number || t("notYetSubmitted")),
      el("dt", {}, submission.submitted_at ? t("submittedAt") : t("createdAt")),
      el("dd", {}, dateTime(submission.submitted_at || submission.created_at)),
      submission.fee?.total ? [el("dt", {}, t("fee")), el("dd", {}, yen(submission.fee.total))] : null,
      due > 0 ? [el("dt", {}, t("amountDue")), el("dd", { class: "due" }, yen(due))] : null),
    submission.status === "returned" && item.returnMessage
      ? el("div", { class: "panel warning" }, el("p", {}, t("returnedIntro")),
        el("blockquote", { class: "staff-message" }, item.returnMessage))
      : null,
    due > 0 && submission.status === "awaiting_payment" ? link(`#/s/${submission.id}`, t("payNow")) : null,
    applicationActions(submission, changed));
}

async function loadApplication(id, entry) {
  try {
    const submission = await api.submission(id, tokenFor(id));
    const procedure = await procedureOf(submission.municipality_code, submission.procedure_code);
    submission.title = procedure.definition.title;
    rememberApplication({ id, status: submission.status, title: submission.title,
      municipality: submission.municipality_code, procedure: submission.procedure_code });
    const returned = submission.timeline.filter((e) => e.to === "returned").at(-1);
    return { submission, returnMessage: returned?.comment };
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      // Deleted, purged after its retention period, or made with another card.
      if (entry?.token) forgetApplication(id);
      return entry?.token ? null : { locked: true, entry };
    }
    if (loginExpired(error)) return { locked: true, entry };
    throw error;
  }
}

const NEEDS_ACTION = ["returned", "awaiting_payment", "draft"];

/** The next thing to do for an application that waits on the citizen. */
function nextAction(submission, entry) {
  const id = submission.id;
  if (submission.status === "returned") return link(`#/s/${id}/step/0`, t("correctAndResubmit"));
  if (submission.status === "awaiting_payment") return link(`#/s/${id}`, t("payNow"));
  return link(`#/s/${id}/step/${entry?.step || 0}`, t("continueDraft"));
}

/**
 * The start page's list of applications made on this device that wait on the citizen
 * (差戻し first, then a fee due, then drafts), each with what to do next; null when
 * there are none. Their status is asked of the server; one it cannot give (a card
 * application without a card login in this tab, a network failure) keeps the status
 * this device last saw.
 */
export async function waitingApplications() {
  const device = Object.values(deviceApplications())
    .filter((entry) => !["approved", "rejected", "withdrawn"].includes(entry.status))
    .sort((a, b) => String(b.created_at || "").localeCompare(String(a.created_at || "")))
    .slice(0, 10);
  const current = await Promise.all(device.map(async (entry) => {
    const token = tokenFor(entry.id);
    if (!token) return { id: entry.id, status: entry.status };
    try {
      const submission = await api.submission(entry.id, token);
      rememberApplication({ id: entry.id, status: submission.status });
      return submission;
    } catch {
      return { id: entry.id, status: entry.status };
    }
  }));
  const waiting = current
    .filter((submission) => NEEDS_ACTION.includes(submission.status))
    .sort((a, b) => NEEDS_ACTION.indexOf(a.status) - NEEDS_ACTION.indexOf(b.status));
  if (!waiting.length) return null;
  const entries = deviceApplications();
  return el("section", { class: "panel", id: "waiting-applications", "aria-labelledby": "waiting-title" },
    el("h2", { id: "waiting-title" }, t("waitingTitle")),
    el("ul", { class: "waiting" }, waiting.map((submission) => {
      const entry = entries[submission.id];
      return el("li", { "data-id": submission.id },
        el("span", { class: "waiting-title" }, loc(entry?.title) || t("procedure")), " ",
        el("span", { class: `status status-${submission.status}` }, t(`status_${submission.status}`)),
        el("br"),
        nextAction(submission, entry));
    })));
}

export async function myPage(message = null) {
  const login = citizenLogin();
  const device = deviceApplications();
  let cardIds = [];
  let loginProblem = null;
  if (login) {
    try {
      cardIds = (await api.mySubmissions(login.token)).items.map((item) => item.id);
    } catch (error) {
      if (!loginExpired(error)) throw error;
      forgetCitizenLogin();
      loginProblem = notice(t("sessionExpired"), "error");
    }
  }
  const ids = [...new Set([...Object.keys(device), ...cardIds])];
  const loaded = (await Promise.all(ids.map((id) => loadApplication(id, device[id])))).filter(Boolean);
  const open = loaded.filter((item) => !item.locked)
    .sort((a, b) => b.submission.created_at.localeCompare(a.submission.created_at));
  const locked = loaded.filter((item) => item.locked);
  const changed = (text) => myPage(notice(text));
  const logIn = el("button", { type: "button", class: "primary", id: "mypage-login" }, t("loginButton"));
  logIn.addEventListener("click", () => {
    setAfterLogin("#/me");
    location.hash = "#/login";
  });
  const logOut = el("button", { type: "button", class: "secondary", id: "mypage-logout" }, t("logOut"));
  logOut.addEventListener("click", () => {
    forgetCitizenLogin();
    myPage(notice(t("loggedOut")));
  });
  const loggedIn = citizenLogin();
  show(
    el("h1", {}, t("myPageTitle")),
    message,
    loginProblem,
    open.length
      ? el("div", { class: "applications", id: "applications" }, open.map((item) => applicationCard(item, changed)))
      : el("p", { id: "no-applications" }, t("noApplications")),
    locked.length ? el("p", { class: "notice" }, t("lockedApplications", { count: locked.length })) : null,
    el("section", { class: "panel", "aria-labelledby": "card-login-title" },
      el("h2", { id: "card-login-title" }, t("myPageCardTitle")),
      loggedIn
        ? [el("p", {}, t("loggedInUntil", { time: dateTime(new Date(loggedIn.expires_at).toISOString()) })),
          el("div", { class: "actions" }, logOut)]
        : [el("p", {}, t("myPageLoginIntro")), el("div", { class: "actions" }, logIn)]),
    el("p", { class: "help" }, t("myPageDeviceNote"), " ", link("#/privacy", t("privacyTitle"))),
    el("p", {}, link("#/", t("newApplication"))),
  );
}

export async function statusPage(id) {
  // The payment provider sends the citizen back with ?payment_id=…&result=…: kept until
  // shown, even if the card login has to be renewed first.
  const result = new URLSearchParams(location.search).get("result");
  if (location.search) {
    if (result) setPaymentReturn(id, result);
    history.replaceState(null, "", location.pathname + location.hash);
  }
  const submission = await api.submission(id, tokenFor(id));
  const procedure = await procedureOf(submission.municipality_code, submission.procedure_code);
  submission.title = procedure.definition.title;
  rememberApplication({ id, status: submission.status });
  const returned = takePaymentReturn(id);
  const refresh = el("button", { type: "button", class: "secondary" }, t("refresh"));
  refresh.addEventListener("click", () => statusPage(id));
  const changed = (text, { gone = false } = {}) => {
    if (gone) return myPage(notice(text)).then(() => history.replaceState(null, "", "#/me"));
    return statusPage(id).then(() => document.getElementById("main").prepend(notice(text)));
  };
  const due = amountDue(submission);
  show(
    el("h1", {}, t("statusTitle")),
    returned === "success" ? notice(t("paymentReturned")) : null,
    returned === "cancel" ? notice(t("paymentFailed"), "error") : null,
    el("dl", { class: "facts" },
      el("dt", {}, t("procedure")), el("dd", {}, loc(procedure.definition.title)),
      el("dt", {}, t("referenceNumber")),
      el("dd", { id: "status-reference" }, submission.reference_number || "—"),
      el("dt", {}, t("currentStatus")),
      el("dd", { id: "current-status" }, t(`status_${submission.status}`)),
      submission.submitted_at ? [el("dt", {}, t("submittedAt")), el("dd", {}, dateTime(submission.submitted_at))] : null),
    returnPanel(submission),
    await paymentSection(submission),
    submission.fee && submission.status !== "draft" && due <= 0
      ? el("section", { "aria-labelledby": "fee-title" },
        el("h2", { id: "fee-title" }, t("feeSummary")), feeTable(submission.fee, procedure.definition))
      : null,
    el("h2", {}, t("timeline")),
    el("ol", { class: "timeline", id: "timeline" }, submission.timeline.map((entry) =>
      el("li", {},
        el("span", { class: "when" }, dateTime(entry.at)),
        el("span", { class: "what" }, t(`status_${entry.to}`)),
        el("span", { class: "who" }, `（${t(`by_${entry.actor_kind}`)}）`),
        entry.comment ? el("p", { class: "comment" }, entry.comment) : null))),
    applicationActions(submission, changed, { onStatusPage: true }),
    el("div", { class: "actions" }, refresh),
    el("p", {}, link("#/me", t("openMyPage"))),
  );
}
