// The fee while it is due: the amount and its lines, the button to the payment page,
// and for a konbini payment already chosen its 払込番号 and deadline.

import { ApiError, api } from "./api.js";
import { el } from "./dom.js";
import { dateTime, loc, t, yen } from "./i18n.js";
import { tokenFor } from "./store.js";
import { askToLogInAgain, loginExpired, notice, problemText } from "./ui.js";

/** What is still to pay: the server's balance when it states one, else the fee while
 * the application awaits payment. */
export function amountDue(submission) {
  if (typeof submission.amount_due === "number") return submission.amount_due;
  if (typeof submission.balance?.due === "number") return submission.balance.due;
  return submission.status === "awaiting_payment" ? submission.fee?.total ?? 0 : 0;
}

/** The konbini voucher of a pending payment: {number, deadline, voucherUrl} or null. */
export function konbiniVoucher(payment) {
  if (!payment || payment.status !== "pending") return null;
  const voucher = payment.konbini || {};
  const number = voucher.confirmation_number ?? voucher.number ?? payment.konbini_confirmation_number ?? null;
  const deadline = voucher.expires_at ?? payment.konbini_expires_at ?? null;
  return {
    number,
    deadline,
    voucherUrl: voucher.hosted_voucher_url ?? payment.hosted_voucher_url ?? null,
  };
}

async function latestPayment(submission) {
  try {
    return await api.payment(submission.id, tokenFor(submission.id));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export async function paymentSection(submission) {
  const due = amountDue(submission);
  if (submission.status !== "awaiting_payment" || due <= 0) return null;
  const payment = await latestPayment(submission);
  const voucher = konbiniVoucher(payment);
  const message = el("div", { "aria-live": "polite" });
  const pay = el("button", { type: "button", class: "primary", id: "pay-button" },
    voucher ? t("payOtherWay") : t("payNow"));
  pay.addEventListener("click", async () => {
    pay.disabled = true;
    try {
      const started = await api.startPayment(submission.id, tokenFor(submission.id));
      location.assign(started.redirect_url);
    } catch (error) {
      pay.disabled = false;
      if (loginExpired(error)) return askToLogInAgain();
      const unavailable = error instanceof ApiError && (error.status === 404 || error.status === 405);
      message.replaceChildren(notice(unavailable ? t("paymentUnavailable") : `${t("paymentFailed")} ${problemText(error)}`, "error"));
    }
  });
  return el("section", { class: "panel pending", "aria-labelledby": "payment-title", id: "payment-section" },
    el("h2", { id: "payment-title" }, t("amountDue")),
    el("p", { class: "amount", id: "amount-due" }, yen(due)),
    submission.fee ? el("ul", {}, submission.fee.items.map((line) =>
      el("li", {}, `${loc(line.label)}: ${yen(line.amount)}`))) : null,
    voucher ? el("div", { class: "konbini", id: "konbini-voucher" },
      el("h3", {}, t("konbiniTitle")),
      el("dl", { class: "facts" },
        el("dt", {}, t("konbiniNumber")),
        el("dd", { id: "konbini-number" }, voucher.number || t("konbiniNumberOnVoucher")),
        el("dt", {}, t("konbiniDeadline")),
        el("dd", { id: "konbini-deadline" }, voucher.deadline ? dateTime(voucher.deadline) : "—")),
      el("p", {}, t("konbiniIntro")),
      voucher.voucherUrl ? el("p", {}, el("a", { href: voucher.voucherUrl, rel: "noopener" }, t("konbiniVoucher"))) : null)
      : el("p", {}, t("paymentIntro")),
    message,
    el("div", { class: "actions" }, pay));
}
