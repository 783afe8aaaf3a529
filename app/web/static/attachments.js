// The `file` field (添付ファイル): take a photo or pick a file on the phone, see a
// thumbnail, remove it, and read upload errors next to the field. Each file goes up on
// its own (POST /api/v1/submissions/{id}/attachments, multipart); the answer is the
// list of attachment ids. form.js calls renderFileField for fields of type "file".

import { el } from "./dom.js";
import { lang } from "./i18n.js";

const MESSAGES = {
  ja: {
    choose: "写真を撮る・ファイルを選ぶ",
    chooseMore: "さらに追加する",
    remove: "削除",
    removeNamed: "{name} を削除",
    uploading: "{name} を送信中…",
    uploaded: "{name} を添付しました。",
    removed: "{name} を削除しました。",
    quarantined: "ウイルス検査待ち",
    kinds: "添付できるもの: {kinds}（1ファイル{size}MBまで、{count}件まで）",
    image: "写真（JPEG・PNG・WebP）",
    pdf: "PDF",
    tooLarge: "{name} は大きすぎます。1ファイル{size}MBまでです。",
    tooMany: "添付できるのは{count}件までです。",
    failed: "{name} を添付できませんでした。",
    network: "通信できませんでした。電波の良い場所でもう一度お試しください。",
    unnamed: "添付ファイル",
  },
  en: {
    choose: "Take a photo or choose a file",
    chooseMore: "Add another",
    remove: "Remove",
    removeNamed: "Remove {name}",
    uploading: "Uploading {name}…",
    uploaded: "{name} attached.",
    removed: "{name} removed.",
    quarantined: "Waiting for the virus check",
    kinds: "You can attach: {kinds} (up to {size} MB each, {count} file(s))",
    image: "photos (JPEG, PNG, WebP)",
    pdf: "PDF",
    tooLarge: "{name} is too large. Each file may be at most {size} MB.",
    tooMany: "You can attach at most {count} file(s).",
    failed: "{name} could not be attached.",
    network: "The upload did not go through. Try again where the signal is better.",
    unnamed: "Attached file",
  },
};

const ACCEPT = { image: "image/jpeg,image/png,image/webp", pdf: "application/pdf" };

function m(key, params = {}) {
  const text = MESSAGES[lang()]?.[key] ?? MESSAGES.ja[key];
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

// The application's attachments, fetched once per page and submission.
const listings = new Map();

async function call(method, path, { token, body } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(`/api/v1${path}`, { method, headers, body });
  if (response.ok) return response;
  let problem = {};
  try {
    problem = await response.json();
  } catch {
    // Not problem+json (a proxy's page): the status says enough.
  }
  const error = new Error(problem.detail || `HTTP ${response.status}`);
  error.status = response.status;
  error.problem = problem;
  throw error;
}

function listing(context) {
  if (!listings.has(context.submissionId)) {
    listings.set(
      context.submissionId,
      call("GET", `/submissions/${context.submissionId}/attachments`, { token: context.token })
        .then((response) => response.json())
        .then((body) => new Map(body.items.map((item) => [item.id, item])))
        .catch(() => new Map()),
    );
  }
  return listings.get(context.submissionId);
}

/** The names of the application's attachments by id, for the review page. */
export async function attachmentNames(submissionId, token) {
  const known = await listing({ submissionId, token });
  return new Map([...known].map(([id, item]) => [id, item.filename || m("unnamed")]));
}

function dataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

function sizeLabel(bytes) {
  return bytes >= 1024 * 1024
    ? `${(bytes / (1024 * 1024)).toFixed(1)} MB`
    : `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

function problemMessage(error, name) {
  if (!error.status) return m("network");
  const problem = error.problem || {};
  const detail = lang() === "en" ? problem.detail || problem.title : problem.detail_ja || problem.title_ja;
  return detail ? `${m("failed", { name })} ${detail}` : m("failed", { name });
}

/**
 * The control of one file field. `set(ids)` stores the answer; `showError(text)` shows
 * (or with null, clears) the message under the field; `context` names the submission.
 */
export function renderFileField(field, { path, id, value, set, context, label, mark, help, error }) {
  const ids = Array.isArray(value) ? [...value] : [];
  const kinds = field.kinds || ["image", "pdf"];
  const maxCount = field.max_count ?? 1;
  const maxBytes = (field.max_size_mb ?? 10) * 1024 * 1024;
  const list = el("ul", { class: "attachment-list" });
  const status = el("p", { class: "upload-status", "aria-live": "polite" });
  const input = el("input", {
    type: "file",
    id,
    name: path,
    class: "file-input",
    accept: kinds.map((kind) => ACCEPT[kind]).join(","),
    multiple: maxCount > 1 ? true : null,
  });
  const pickerText = el("span", {}, m("choose"));
  const picker = el("label", { for: id, class: "file-picker secondary" }, pickerText);
  const rules = el("p", { class: "help" }, m("kinds", {
    kinds: kinds.map((kind) => m(kind)).join(lang() === "en" ? ", " : "・"),
    size: field.max_size_mb ?? 10,
    count: maxCount,
  }));

  const showError = (text) => {
    error.hidden = !text;
    error.textContent = text || "";
    input.setAttribute("aria-invalid", text ? "true" : "false");
  };

  const refreshPicker = () => {
    picker.hidden = ids.length >= maxCount;
    pickerText.textContent = ids.length ? m("chooseMore") : m("choose");
  };

  const addItem = (attachment, thumbnail) => {
    const name = attachment.filename || attachment.id;
    const image = el("img", { class: "thumb", alt: "", width: 64, height: 64 });
    if (thumbnail) image.src = thumbnail;
    const preview = attachment.kind === "image" ? image : el("span", { class: "thumb pdf" }, "PDF");
    const remove = el("button", {
      type: "button", class: "link-button", "aria-label": m("removeNamed", { name }),
    }, m("remove"));
    const note = attachment.scan_status === "pending"
      ? el("span", { class: "meta" }, m("quarantined")) : null;
    const item = el("li", { class: "attachment", "data-attachment": attachment.id },
      preview, el("span", { class: "attachment-name" }, name, " ",
        el("span", { class: "meta" }, sizeLabel(attachment.size_bytes)), note), remove);
    remove.addEventListener("click", async () => {
      remove.disabled = true;
      try {
        await call("DELETE", `/submissions/${context.submissionId}/attachments/${attachment.id}`,
          { token: context.token });
      } catch (failure) {
        if (failure.status !== 404) {
          remove.disabled = false;
          showError(problemMessage(failure, name));
          return;
        }
      }
      ids.splice(ids.indexOf(attachment.id), 1);
      item.remove();
      set(ids.length ? [...ids] : undefined);
      showError(null);
      status.textContent = m("removed", { name });
      refreshPicker();
      input.focus();
    });
    list.append(item);
    return image;
  };

  const upload = async (file) => {
    if (ids.length >= maxCount) return showError(m("tooMany", { count: maxCount }));
    if (file.size > maxBytes) {
      return showError(m("tooLarge", { name: file.name, size: field.max_size_mb ?? 10 }));
    }
    status.textContent = m("uploading", { name: file.name });
    const form = new FormData();
    form.append("file", file, file.name);
    const key = path.split("/").pop();
    try {
      const response = await call("POST",
        `/submissions/${context.submissionId}/attachments?field=${encodeURIComponent(key)}`,
        { token: context.token, body: form });
      const attachment = await response.json();
      ids.push(attachment.id);
      set([...ids]);
      (await listing(context)).set(attachment.id, attachment);
      addItem(attachment, attachment.kind === "image" ? await dataUrl(file) : null);
      showError(null);
      status.textContent = m("uploaded", { name: attachment.filename || file.name });
    } catch (failure) {
      status.textContent = "";
      showError(problemMessage(failure, file.name));
    }
    refreshPicker();
  };

  input.addEventListener("change", async () => {
    const files = [...input.files];
    input.value = "";
    for (const file of files) await upload(file);
  });

  // Files attached earlier (a revisited step, a reload): shown from the server.
  if (ids.length && context) {
    listing(context).then(async (known) => {
      for (const attachmentId of ids) {
        const attachment = known.get(attachmentId);
        if (!attachment) continue;
        const image = addItem(attachment, null);
        if (attachment.kind === "image" && attachment.scan_status !== "pending") {
          call("GET", `/submissions/${context.submissionId}/attachments/${attachmentId}/content`,
            { token: context.token })
            .then((response) => response.blob())
            .then(dataUrl)
            .then((url) => { image.src = url; })
            .catch(() => {});
        }
      }
    });
  }
  refreshPicker();

  const node = el("fieldset", { class: "field file-field", "data-path": path, id: `${id}-group` },
    el("legend", {}, label, " ", mark), help, rules, error, list, input, picker, status);
  node.showUploadError = showError;
  return node;
}
