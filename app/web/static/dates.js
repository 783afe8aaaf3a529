// Dates as Japanese readers write and read them: 和暦 (元号 + year) and 西暦, typed
// with full-width digits or 年月日, and shown on the review page as expected.
// The eras' first days match app/auth/jpki/facts.py (the card's birth-date eras).

import { lang } from "./i18n.js";

export const ERAS = [
  { key: "reiwa", ja: "令和", en: "Reiwa", letter: "R", first: "2019-05-01" },
  { key: "heisei", ja: "平成", en: "Heisei", letter: "H", first: "1989-01-08" },
  { key: "showa", ja: "昭和", en: "Showa", letter: "S", first: "1926-12-25" },
  { key: "taisho", ja: "大正", en: "Taisho", letter: "T", first: "1912-07-30" },
  { key: "meiji", ja: "明治", en: "Meiji", letter: "M", first: "1868-01-25" },
];

const WEEKDAYS_JA = ["日", "月", "火", "水", "木", "金", "土"];

/** Today in Japan (Asia/Tokyo) as YYYY-MM-DD: the day the server's bounds are computed on. */
export function todayInJapan(now = new Date()) {
  return new Intl.DateTimeFormat("en-CA", {
    timeZone: "Asia/Tokyo", year: "numeric", month: "2-digit", day: "2-digit",
  }).format(now);
}

export function addDays(iso, days) {
  const [y, m, d] = iso.split("-").map(Number);
  const day = new Date(Date.UTC(y, m - 1, d + days));
  return day.toISOString().slice(0, 10);
}

function isoOf(year, month, day) {
  const date = new Date(Date.UTC(year, month - 1, day));
  date.setUTCFullYear(year);
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return null; // 2月30日 and the like
  }
  return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

/** The era a date falls in (from 明治), or null before it. */
export function eraOf(iso) {
  return ERAS.find((era) => iso >= era.first) || null;
}

function eraEnd(era) {
  const index = ERAS.indexOf(era);
  return index === 0 ? null : ERAS[index - 1].first;
}

/** Western year of `eraYear` of an era (元年 = 1). */
export function westernYear(era, eraYear) {
  return Number(era.first.slice(0, 4)) + eraYear - 1;
}

/**
 * An ISO date from what a citizen types: 2026-12-01, 2026/12/1, 2026年12月1日, 20261201,
 * 昭和63年2月3日, 平成元年1月8日, S63.2.3, R8/12/1 (full-width digits too).
 * Returns {iso}, {error: "invalid" | "not_in_era"}, or null for nothing typed.
 */
export function parseDate(text) {
  const value = String(text ?? "").normalize("NFKC").replace(/\s+/g, "");
  if (!value) return null;
  let match = value.match(/^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$/) || value.match(/^(\d{4})(\d{2})(\d{2})$/);
  if (match) {
    const iso = isoOf(Number(match[1]), Number(match[2]), Number(match[3]));
    return iso ? { iso } : { error: "invalid" };
  }
  match = value.match(/^(令和|平成|昭和|大正|明治|[RHSTM])(元|\d{1,2})[年.\-/](\d{1,2})[月.\-/](\d{1,2})日?$/i);
  if (!match) return { error: "invalid" };
  const name = match[1].toUpperCase();
  const era = ERAS.find((e) => e.ja === name || e.letter === name);
  const eraYear = match[2] === "元" ? 1 : Number(match[2]);
  if (eraYear < 1) return { error: "invalid" };
  const iso = isoOf(westernYear(era, eraYear), Number(match[3]), Number(match[4]));
  if (!iso) return { error: "invalid" };
  const end = eraEnd(era);
  if (iso < era.first || (end && iso >= end)) return { error: "not_in_era" };
  return { iso };
}

/** 和暦 parts of an ISO date: {era, eraYear, year, month, day}. */
export function warekiParts(iso) {
  const [year, month, day] = iso.split("-").map(Number);
  const era = eraOf(iso);
  return { era, eraYear: era ? year - Number(era.first.slice(0, 4)) + 1 : null, year, month, day };
}

function eraYearText(era, eraYear, language = lang()) {
  if (language === "en") return `${era.en} ${eraYear}`;
  return `${era.ja}${eraYear === 1 ? "元" : eraYear}年`;
}

/** 昭和63年 / Showa 63 for an ISO date (empty before 明治). */
export function eraYearOf(iso) {
  const { era, eraYear } = warekiParts(iso);
  return era ? eraYearText(era, eraYear) : "";
}

/** A date as read on paper: 2026年12月1日（火） / Tue 1 December 2026. */
export function formatDate(iso, language = lang()) {
  const parsed = parseDate(iso);
  if (!parsed?.iso) return String(iso ?? "");
  const { year, month, day } = warekiParts(parsed.iso);
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  if (language === "en") {
    return new Intl.DateTimeFormat("en-GB", {
      weekday: "short", day: "numeric", month: "long", year: "numeric", timeZone: "UTC",
    }).format(new Date(Date.UTC(year, month - 1, day)));
  }
  return `${year}年${month}月${day}日（${WEEKDAYS_JA[weekday]}）`;
}

/** A birth date as a Japanese form has it: 昭和63年（1988年）2月3日. */
export function formatBirthDate(iso) {
  const parsed = parseDate(iso);
  if (!parsed?.iso) return String(iso ?? "");
  const { era, eraYear, year, month, day } = warekiParts(parsed.iso);
  if (lang() === "en") {
    const western = new Intl.DateTimeFormat("en-GB", {
      day: "numeric", month: "long", year: "numeric", timeZone: "UTC",
    }).format(new Date(Date.UTC(year, month - 1, day)));
    return era ? `${western} (${eraYearText(era, eraYear)})` : western;
  }
  return era ? `${eraYearText(era, eraYear)}（${year}年）${month}月${day}日` : `${year}年${month}月${day}日`;
}

/** 〒389-0517 from 3890517 (as stored); anything else is shown as it is. */
export function formatPostcode(value) {
  const digits = String(value ?? "").normalize("NFKC").replace(/[-‐－ー]/g, "");
  return /^\d{7}$/.test(digits) ? `〒${digits.slice(0, 3)}-${digits.slice(3)}` : String(value ?? "");
}

/** A bound as a reader understands it: 今日（2026年11月29日）, 明日（…）, or the date. */
export function describeBound(iso, today = todayInJapan(), language = lang()) {
  const date = formatDate(iso, language);
  const relative = { [today]: "today", [addDays(today, 1)]: "tomorrow", [addDays(today, -1)]: "yesterday" }[iso];
  if (!relative) return date;
  const words = { ja: { today: "今日", tomorrow: "明日", yesterday: "昨日" }, en: { today: "today", tomorrow: "tomorrow", yesterday: "yesterday" } };
  return language === "en" ? `${words.en[relative]} (${date})` : `${words.ja[relative]}（${date}）`;
}
