// The fee while it is due: the amount and its lines, the button to the payment page,
// and for a konbini payment already chosen its 払込番号 and deadline.

import { ApiError, api } from "./api.js";
import { el } from "./dom.js";
import { dateTime, lang, loc, t, yen } from "./i18n.js";
import { tokenFor } from "./store.js";
import { askToLogInAgain, loginExpired, notice, problemText } from "./ui.js";

/** What is still to pay: the server's balance when it states one, else the fee while
 * the application awaits payment. */
export function amountDue(submission) {
  if (typeof submission.amount_due === "number") return submission.amount_due;
  if (typeof submission.balance?.due === "number") return submission.balance.due;
  return submission.status === "awaiting_payment" ? submission.fee?.total ?? 0 : 0;
}

/** The konbini voucher (コンビニ払込票) of a pending payment, as GET …/payment states it:
 * {payment_code (when every store takes the same one), expires_at, hosted_voucher_url,
 * stores: {familymart: {payment_code, confirmation_number}, …}}, or null. */
export function konbiniVoucher(payment) {
  return payment?.status === "pending" ? payment.voucher || null : null;
}

const STORES = { familymart: "ファミリーマート", lawson: "ローソン", ministop: "ミニストップ", seicomart: "セイコーマート" };

function storeName(store) {
  return lang() === "en" ? store.charAt(0).toUpperCase() + store.slice(1) : STORES[store] || store;
}

function voucherDetails(voucher) {
  const stores = Object.entries(voucher.stores || {});
  const confirmation = stores.map(([, code]) => code.confirmation_number).find(Boolean);
  return el("div", { class: "konbini", id: "konbini-voucher" },
    el("h3", {}, t("konbiniTitle")),
    el("dl", { class: "facts" },
      voucher.payment_code ? [
        el("dt", {}, t("konbiniNumber")), el("dd", { id: "konbini-number" }, voucher.payment_code),
        confirmation ? [el("dt", {}, t("konbiniConfirmation")), el("dd", {}, confirmation)] : null,
      ] : stores.map(([store, code]) => [
        el("dt", {}, `${t("konbiniNumber")}（${storeName(store)}）`),
        el("dd", {}, code.confirmation_number
          ? `${code.payment_code}（${t("konbiniConfirmation")} ${code.confirmation_number}）` : code.payment_code),
      ]),
      el("dt", {}, t("konbiniDeadline")),
      el("dd", { id: "konbini-deadline" }, dateTime(voucher.expires_at))),
    el("p", {}, t("konbiniIntro")),
    voucher.hosted_voucher_url
      ? el("p", {}, el("a", { href: voucher.hosted_voucher_url, rel: "noopener" }, t("konbiniVoucher"))) : null);
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
  const pay = el("button", { type: "button", class: voucher ? "secondary" : "primary", id: "pay-button" },
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
    voucher ? voucherDetails(voucher) : el("p", {}, t("paymentIntro")),
    message,
    el("div", { class: "actions" }, pay));
}
