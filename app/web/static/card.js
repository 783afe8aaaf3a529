// The development-only test card: a card folder minted by
// `python -m app.auth.jpki.testca mint-card`, read in the browser. Its PKCS#8 keys are
// imported into WebCrypto (RSASSA-PKCS1-v1_5, SHA-256, not extractable) and sign
// exactly as the real card does: the login nonce with the authentication key, the
// signing document with the signing key. Production hands off to the card app instead.

const CARD_FILES = ["auth.key.pem", "auth.cer", "sign.key.pem", "sign.cer"];
const ALGORITHM = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };

let loadedCard = null;

export function testCard() {
  return loadedCard;
}

export function missingCardFiles(files) {
  const names = new Set(Array.from(files, (file) => file.name));
  return CARD_FILES.filter((name) => !names.has(name));
}

export async function loadTestCard(files) {
  const byName = new Map(Array.from(files, (file) => [file.name, file]));
  const importKey = async (name) => {
    const pem = await byName.get(name).text();
    const body = pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, "").replace(/\s+/g, "");
    return crypto.subtle.importKey("pkcs8", fromBase64(body), ALGORITHM, false, ["sign"]);
  };
  const certificate = async (name) => toBase64(new Uint8Array(await byName.get(name).arrayBuffer()));
  loadedCard = {
    auth: { key: await importKey("auth.key.pem"), certificate: await certificate("auth.cer") },
    sign: { key: await importKey("sign.key.pem"), certificate: await certificate("sign.cer") },
  };
  return loadedCard;
}

/** {certificate, signature} (both base64) for the UTF-8 bytes of `text`. */
export async function signText(kind, text) {
  const pair = loadedCard[kind];
  const signature = await crypto.subtle.sign(ALGORITHM, pair.key, new TextEncoder().encode(text));
  return { certificate: pair.certificate, signature: toBase64(new Uint8Array(signature)) };
}

function fromBase64(text) {
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
}

function toBase64(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
