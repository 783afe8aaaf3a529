// Filling in an application: one step per page (drafts saved on the server, values it
// refuses kept on the device), prefill from the card, the review with the computed
// fee, the card signature, and the page that says what happens next.

import { ApiError, api } from "./api.js";
import { attachmentNames } from "./attachments.js";
import { procedureOf } from "./catalog.js";
import { signText, testCard } from "./card.js";
import { formatBirthDate, formatDate, formatPostcode } from "./dates.js";
import { el } from "./dom.js";
import {
  StepView,
  answersToSend,
  cardFilledFields,
  dateProblems,
  isBirthDate,
  labelOfPath,
  missingRequired,
  pointerDelete,
  pointerGet,
  pointerSet,
  stepOfPath,
  visibleSteps,
} from "./form.js";
import { loc, t, yen } from "./i18n.js";
import { cardPanel, client, signedChallenge } from "./login.js";
import { paymentSection } from "./payment.js";
import {
  deviceApplications,
  forgetUnsaved,
  rememberApplication,
  rememberUnsaved,
  tokenFor,
  unsaved,
} from "./store.js";
import {
  askToLogInAgain, errorSummary, link, loginExpired, notice, problemText, show,
} from "./ui.js";

const EDITABLE = ["draft", "returned"];

// Errors of the last refused submit, shown again on the step they belong to.
let pendingErrors = [];
// What the step on screen holds (typed, maybe not saved yet)...
let onScreen = null;
// ...carried over a re-render of the same page: a language switch, a new card login.
let carried = null;
// A message for the next render of a step (after prefill).
let flash = null;

/** Keep what is typed on the step on screen for its next render (language switch). */
export function keepTyping() {
  if (onScreen && location.hash === onScreen.hash) {
    carried = { hash: onScreen.hash, answers: structuredClone(onScreen.answers) };
  }
}

export function leavePage() {
  onScreen = null;
}

function latestReturnMessage(submission) {
  const returned = submission.timeline.filter((entry) => entry.to === "returned").at(-1);
  return returned?.comment || null;
}

/** The staff's 差戻し message, shown while the citizen corrects the application. */
export function returnPanel(submission) {
  if (submission.status !== "returned") return null;
  return el("section", { class: "panel warning", "aria-labelledby": "return-title" },
    el("h2", { id: "return-title" }, t("returnedTitle")),
    el("p", {}, t("returnedIntro")),
    latestReturnMessage(submission)
      ? el("blockquote", { class: "staff-message", id: "return-message" }, latestReturnMessage(submission))
      : null);
}

/**
 * Saves the answers as a draft. Values the server refuses (an invalid postcode) are left
 * out of what it stores and kept on this device with their errors, so nothing typed is
 * lost; the rest is saved. Returns the refused errors.
 */
async function saveDraft(id, definition, answers) {
  const toSend = answersToSend(definition, answers);
  try {
    await api.saveAnswers(id, toSend, tokenFor(id));
    forgetUnsaved(id);
    return [];
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== "VALIDATION_FAILED") throw error;
    const refused = error.fieldErrors.filter((e) => /^\/[^/]+/.test(e.path || ""));
    if (refused.length !== error.fieldErrors.length) throw error;
    const values = {};
    const valid = structuredClone(toSend);
    for (const problem of refused) {
      const value = pointerGet(toSend, problem.path);
      if (value !== undefined) values[problem.path] = value;
      pointerDelete(valid, problem.path);
    }
    await api.saveAnswers(id, answersToSend(definition, valid), tokenFor(id));
    rememberUnsaved(id, values, refused);
    return refused;
  }
}

function withUnsaved(id, answers) {
  const local = unsaved(id);
  for (const [path, value] of Object.entries(local?.values || {})) pointerSet(answers, path, value);
  return local?.errors || [];
}

function timeNow() {
  return new Intl.DateTimeFormat("ja-JP", { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Tokyo" })
    .format(new Date());
}

function hasPrefill(definition, step, answers) {
  return cardFilledFields(definition, answers).some((field) => step.fields.includes(field));
}

// The application and its form while the applicant may still change it; otherwise its
// status page is shown instead (null).
async function editableApplication(id) {
  const submission = await api.submission(id, tokenFor(id));
  if (!EDITABLE.includes(submission.status)) {
    location.hash = `#/s/${id}`;
    return null;
  }
  const procedure = await procedureOf(submission.municipality_code, submission.procedure_code);
  return { submission, procedure, definition: procedure.definition };
}

export async function stepPage(id, index) {
  const editing = await editableApplication(id);
  if (!editing) return;
  const { submission, procedure, definition } = editing;
  let answers = structuredClone(submission.answers || {});
  const storedErrors = withUnsaved(id, answers);
  const hash = location.hash;
  if (carried?.hash === hash) answers = carried.answers;
  carried = null;
  const steps = visibleSteps(definition, answers);
  const stepIndex = Math.min(index, steps.length - 1);
  const step = steps[stepIndex];
  const stepNumber = definition.steps.indexOf(step);
  rememberApplication({
    id,
    municipality: submission.municipality_code,
    procedure: submission.procedure_code,
    title: definition.title,
    status: submission.status,
    step: stepIndex,
    ...(deviceApplications()[id] ? {} : { token: null, created_at: submission.created_at }),
  });
  onScreen = { hash, answers };

  const view = new StepView({
    definition, schema: procedure.json_schema, step, answers, fromCard: submission.prefilled_from_card,
    attachments: { submissionId: id, token: tokenFor(id) },
  });
  const summarySlot = el("div");
  const status = el("div", { "aria-live": "polite", id: "step-status" });
  const back = el("button", { type: "button", class: "secondary", id: "back-button" }, t("back"));
  const saveButton = el("button", { type: "button", class: "secondary", id: "save-draft" }, t("saveDraft"));
  const last = stepIndex === steps.length - 1;
  const next = el("button", { type: "submit", class: "primary" }, last ? t("toReview") : t("next"));
  const ownStep = (error) => stepOfPath(definition, error.path) === stepNumber;

  // The errors next to their fields and in the summary; `focus` moves to the summary
  // (not after 下書きを保存, whose confirmation is what the citizen needs to hear).
  const showProblems = (errors, { focus = true } = {}) => {
    const shown = view.showErrors(errors);
    if (!errors.length) {
      summarySlot.replaceChildren();
      return;
    }
    const elsewhere = errors
      .filter((e) => !shown.some((s) => s.path === e.path))
      .map((e) => ({ ...e, label: labelOfPath(definition, e.path) }));
    const summary = errorSummary([...shown, ...elsewhere], (error) => {
      if (error.targetId) document.getElementById(error.targetId)?.focus();
      else goToErrorStep(id, definition, steps, error);
    });
    summarySlot.replaceChildren(summary);
    if (focus) summary.focus();
  };

  // The problems of this step: the client's own checks (required, dates and their
  // bounds, explained) first, then what the server refused for other reasons.
  const problemsOf = (refused) => {
    const local = [...missingRequired(definition, step, answers),
      ...dateProblems(definition, procedure.json_schema, step, answers)];
    const paths = new Set(local.map((e) => e.path));
    return [...local, ...refused.filter((e) => ownStep(e) && !paths.has(e.path))];
  };

  const whenLoginExpired = (error) => {
    if (!loginExpired(error)) return false;
    carried = { hash, answers: structuredClone(answers) };
    askToLogInAgain(hash);
    return true;
  };

  const busy = async (button, action) => {
    for (const control of [next, back, saveButton]) control.disabled = true;
    status.replaceChildren();
    try {
      await action();
    } catch (error) {
      if (!whenLoginExpired(error)) {
        status.replaceChildren(notice(`${t("genericError")} ${problemText(error)}`, "error"));
      }
    } finally {
      for (const control of [next, back, saveButton]) control.disabled = false;
    }
  };

  const form = el("form", { novalidate: true }, view.root,
    el("div", { class: "actions" }, next, stepIndex > 0 ? back : null, saveButton));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(next, async () => {
      const refused = await saveDraft(id, definition, answers);
      const problems = problemsOf(refused);
      if (problems.length) return showProblems(problems);
      pendingErrors = [];
      const after = visibleSteps(definition, answers);
      location.hash = last || stepIndex + 1 >= after.length
        ? `#/s/${id}/review` : `#/s/${id}/step/${stepIndex + 1}`;
    });
  });
  // 戻る saves what is typed, even a value the server refuses (kept as a draft).
  back.addEventListener("click", () => busy(back, async () => {
    await saveDraft(id, definition, answers);
    location.hash = `#/s/${id}/step/${stepIndex - 1}`;
  }));
  saveButton.addEventListener("click", () => busy(saveButton, async () => {
    const refused = (await saveDraft(id, definition, answers)).filter(ownStep);
    status.replaceChildren(
      el("div", { class: "notice success", role: "status", id: "draft-saved" },
        el("p", {}, t("draftSavedAt", { time: timeNow() })),
        el("p", {}, t("draftSavedWhere"), " ", link("#/me", t("myPageTitle"))),
        refused.length ? el("p", {}, t("draftSavedRefused")) : null));
    // What was refused before and is saved now is no longer marked as an error.
    showProblems(refused, { focus: false });
  }));

  show(
    el("p", { class: "progress" }, t("stepOf", { current: stepIndex + 1, total: steps.length })),
    summarySlot,
    el("h1", {}, loc(step.title)),
    el("p", { class: "procedure-name" }, loc(definition.title)),
    returnPanel(submission),
    flash,
    hasPrefill(definition, step, answers) ? prefillPanel(id, definition, answers, hash) : null,
    step.description ? el("p", {}, loc(step.description)) : null,
    form,
    status,
  );
  flash = null;
  const waiting = [...pendingErrors, ...storedErrors].filter(ownStep);
  if (waiting.length) showProblems(waiting);
}

/** ワンスオンリー: the card's 基本4情報 fill the fields mapped to them, marked as such. */
function prefillPanel(id, definition, answers, hash) {
  const message = el("div", { "aria-live": "polite" });
  const button = el("button", { type: "button", class: "secondary", id: "prefill-button" }, t("prefillButton"));
  const mapped = cardFilledFields(definition, answers).map((field) => loc(field.label));
  button.addEventListener("click", async () => {
    if (!testCard()) {
      message.replaceChildren(notice(client.config.test_card_enabled ? t("needCardFirst") : t("cardAppUnavailable"), "error"));
      return;
    }
    button.disabled = true;
    try {
      await saveDraft(id, definition, answers);
      const result = await api.prefill(id, await signedChallenge("prefill"), tokenFor(id));
      // Named as the citizen sees them: not the fields these answers hide.
      const filled = cardFilledFields(definition, result.answers, { shownOnly: true })
        .filter((field) => result.filled.includes(field.key));
      flash = el("div", { class: "notice success", role: "status", id: "prefill-result" },
        el("p", {}, t("prefillDone", { fields: filled.map((field) => loc(field.label)).join("、") })),
        result.has_alternative_characters ? el("p", {}, t("prefillAlternativeCharacters")) : null,
        result.unsplit_address ? el("p", { id: "prefill-unsplit-address" }, t("prefillUnsplitAddress", { address: result.unsplit_address })) : null);
      carried = null;
      await stepPage(id, Number(hash.split("/").at(-1)));
    } catch (error) {
      button.disabled = false;
      if (loginExpired(error)) {
        carried = { hash, answers: structuredClone(answers) };
        askToLogInAgain(hash);
        return;
      }
      message.replaceChildren(notice(`${t("prefillFailed")} ${problemText(error)}`, "error"));
    }
  });
  return el("section", { class: "card-panel prefill", "aria-labelledby": "prefill-title" },
    el("h2", { id: "prefill-title" }, t("prefillTitle")),
    el("p", {}, t("prefillIntro", { fields: mapped.join("、") })),
    testCard() ? null : cardPanel("prefill"),
    message,
    el("div", { class: "actions" }, button));
}

function goToErrorStep(id, definition, steps, error) {
  const stepIndex = steps.indexOf(definition.steps[stepOfPath(definition, error.path)]);
  if (stepIndex >= 0) location.hash = `#/s/${id}/step/${stepIndex}`;
}

/** 手数料 as the server computed it for these answers: unit price × quantity, the total. */
export function feeTable(fee, definition) {
  if (!fee || (!fee.items.length && fee.total === 0)) return el("p", { id: "fee-total" }, t("noFee"));
  const unitOf = (key) => loc(definition?.fee_rules?.find((rule) => rule.key === key.split(".")[0])?.unit);
  // Two columns, the unit price × quantity under the item's name: it reads at 200%
  // text on a 360 px screen, where three columns leave one character per line.
  return el("div", { class: "fee-frame" }, el("table", { class: "fee-table", id: "fee-table" },
    el("caption", {}, t("feeBreakdown")),
    el("thead", {}, el("tr", {},
      el("th", { scope: "col" }, t("feeItem"), el("span", { class: "fee-unit" }, t("feeUnitTimesQuantity"))),
      el("th", { scope: "col" }, t("feeAmount")))),
    el("tbody", {}, fee.items.map((line) => el("tr", {},
      el("th", { scope: "row" }, loc(line.label),
        line.unit_price != null && line.quantity != null
          ? el("span", { class: "fee-unit" }, `${yen(line.unit_price)} × ${line.quantity}${unitOf(line.key)}`)
          : null),
      el("td", {}, yen(line.amount))))),
    el("tfoot", {}, el("tr", {},
      el("th", { scope: "row" }, t("feeTotal")),
      el("td", { id: "fee-total" }, yen(fee.total))))));
}

export async function reviewPage(id) {
  const editing = await editableApplication(id);
  if (!editing) return;
  const { submission, definition } = editing;
  const answers = submission.answers || {};
  const steps = visibleSteps(definition, answers);
  const fromCard = new Set(submission.prefilled_from_card || []);
  const signs = definition.identity_requirement === "jpki_sign";
  const resubmitting = submission.status === "returned";
  const summarySlot = el("div");
  const status = el("div", { "aria-live": "polite" });
  const label = resubmitting
    ? (signs ? t("signAndResubmit") : t("resubmit"))
    : (signs ? t("signAndSubmit") : t("submit"));
  const submit = el("button", { type: "button", class: "primary", id: "submit-button" }, label);
  const names = await attachmentNames(id, tokenFor(id));

  const sections = steps.map((step, index) => el("section", { class: "review-step" },
    el("h2", {}, loc(step.title)),
    el("dl", {}, step.fields.filter((field) => field.key in answers).map((field) => [
      el("dt", {}, loc(field.label),
        fromCard.has(field.key) ? [" ", el("span", { class: "tag from-card" }, t("fromCard"))] : null),
      el("dd", {}, displayValue(field, answers[field.key], names)),
    ])),
    link(`#/s/${id}/step/${index}`, `${t("edit")}（${loc(step.title)}）`)));

  // Values refused while saving are not in the stored answers: they must be corrected
  // first, or the application would go without what the citizen typed.
  const local = unsaved(id);
  const blocked = local && Object.keys(local.values).length > 0;
  const showSummary = (errors) => {
    const summary = errorSummary(errors.map((e) => ({ ...e, targetId: null, label: labelOfPath(definition, e.path) })),
      (e) => goToErrorStep(id, definition, steps, e));
    summarySlot.replaceChildren(summary);
    summary.focus();
  };

  submit.addEventListener("click", async () => {
    if (blocked) return showSummary(local.errors);
    if (signs && !testCard() && client.config.test_card_enabled) {
      status.replaceChildren(notice(t("needCardFirst"), "error"));
      document.getElementById("test-card-files")?.focus();
      return;
    }
    submit.disabled = true;
    status.replaceChildren(notice(t("submitting")));
    try {
      let signature = null;
      if (signs && testCard()) {
        const document_ = await api.signingDocument(id, tokenFor(id));
        signature = await signText("sign", document_.document);
      }
      const receipt = await api.submit(id, signature, tokenFor(id));
      pendingErrors = [];
      rememberApplication({ id, status: receipt.status, step: 0 });
      location.hash = `#/s/${id}/done`;
    } catch (error) {
      submit.disabled = false;
      status.replaceChildren();
      if (loginExpired(error)) return askToLogInAgain();
      if (error instanceof ApiError && error.code === "VALIDATION_FAILED") {
        pendingErrors = error.fieldErrors;
        return showSummary(pendingErrors);
      }
      status.replaceChildren(notice(`${t("submitFailed")} ${problemText(error)}`, "error"));
    }
  });

  show(
    summarySlot,
    el("h1", {}, t("reviewTitle")),
    el("p", { class: "procedure-name" }, loc(definition.title)),
    returnPanel(submission),
    el("p", {}, t("reviewIntro")),
    ...sections,
    el("section", { class: "review-step", "aria-labelledby": "fee-title" },
      el("h2", { id: "fee-title" }, t("feeToPay")),
      feeTable(submission.fee, definition),
      definition.payment_timing === "after_review" && submission.fee?.total
        ? el("p", {}, t("feeFixedAfterReview")) : null,
      submission.fee?.total && definition.payment_timing !== "after_review"
        ? el("p", {}, t("feePaidAfterSubmit")) : null),
    signs ? el("p", {}, t("signingIntro")) : null,
    signs ? cardPanel("sign") : null,
    blocked ? notice(t("unsavedBlocksSubmit"), "error") : null,
    status,
    el("div", { class: "actions" }, submit),
  );
}

/** An answer as a Japanese reader expects it on the review page. */
export function displayValue(field, value, attachments = new Map()) {
  const option = (v) => loc(field.options?.find((o) => o.value === v)?.label) || v;
  switch (field.type) {
    case "select":
    case "radio":
      return option(value);
    case "multiselect":
      return value.map(option).join("、");
    case "checkbox":
    case "consent":
      return value ? t("yes") : "—";
    case "date":
      return isBirthDate(field) ? formatBirthDate(value) : formatDate(value);
    case "postal_code_jp":
      return formatPostcode(value);
    case "address_jp":
      return ["prefecture", "city", "town", "rest"].map((k) => value[k]).filter(Boolean).join("");
    case "name_with_kana":
      return `${value.name ?? ""}（${value.kana ?? ""}）`;
    case "my_number":
      return `●●●● ●●●● ${String(value).slice(-4)}`;
    case "file": // attachment ids: shown by the files' names
      return value.map((id) => attachments.get(id) ?? "—").join("、");
    case "group":
      return el("ol", {}, value.map((item) => el("li", {}, field.fields
        .filter((inner) => inner.key in item)
        .map((inner) => `${loc(inner.label)}: ${displayValue(inner, item[inner.key], attachments)}`)
        .join(" / "))));
    default:
      return String(value);
  }
}

export async function donePage(id) {
  const submission = await api.submission(id, tokenFor(id));
  rememberApplication({ id, status: submission.status });
  const procedure = await procedureOf(submission.municipality_code, submission.procedure_code);
  const due = submission.status === "awaiting_payment";
  const reference = el("p", { class: "reference" }, `${t("referenceNumber")}: `,
    el("strong", { id: "reference-number" }, submission.reference_number || "—"));
  // While money is due nothing is complete: no green "受付" until it is paid.
  const panel = due
    ? el("div", { class: "panel pending", id: "done-panel" },
      el("h1", {}, t("paymentDueTitle")),
      el("p", {}, loc(procedure.definition.title)),
      reference,
      el("p", {}, t("paymentDueIntro")))
    : el("div", { class: "panel success", id: "done-panel" },
      el("h1", {}, submission.status === "resubmitted" ? t("resubmittedTitle") : t("receivedTitle")),
      el("p", {}, loc(procedure.definition.title)),
      reference,
      el("p", {}, t("referenceNote")));
  show(
    panel,
    await paymentSection(submission),
    el("p", {}, link(`#/s/${id}`, t("viewStatus"), "button-link")),
    el("p", {}, link("#/me", t("openMyPage"))),
  );
}
