// The API calls of the web client. Errors come back as problem+json (RFC 9457).

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }

  get code() {
    return this.problem.code;
  }

  /** [{path, code, message_ja, message_en}] of a 422 VALIDATION_FAILED. */
  get fieldErrors() {
    return Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

/** The network failed (offline, server down): told apart from the server's answers. */
export class NetworkError extends Error {}

async function request(method, path, { body, token, idempotencyKey } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  // A repeated action (a double tap, a retry) reuses its key: the server answers it once.
  if (method === "POST") headers["Idempotency-Key"] = idempotencyKey || crypto.randomUUID();
  let response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new NetworkError(error.message);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON (a proxy's error page): the status alone tells what happened.
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const api = {
  clientConfig: () => request("GET", "/client-config"),
  municipalities: () => request("GET", "/municipalities"),
  procedures: (code) => request("GET", `/municipalities/${code}/procedures`),
  procedure: (code, procedureCode) =>
    request("GET", `/municipalities/${code}/procedures/${procedureCode}`),
  challenge: (purpose = "login") => request("POST", "/auth/jpki/challenge", { body: { purpose } }),
  login: (proof) => request("POST", "/auth/jpki/login", { body: proof }),
  createSubmission: (code, procedureCode, answers, token, idempotencyKey) =>
    request("POST", `/municipalities/${code}/procedures/${procedureCode}/submissions`, {
      body: { answers, submit: false },
      token,
      idempotencyKey,
    }),
  mySubmissions: (token) => request("GET", "/me/submissions", { token }),
  submission: (id, token) => request("GET", `/submissions/${id}`, { token }),
  saveAnswers: (id, answers, token) =>
    request("PATCH", `/submissions/${id}`, { body: { answers }, token }),
  signingDocument: (id, token) => request("GET", `/submissions/${id}/signing-document`, { token }),
  submit: (id, signature, token) =>
    request("POST", `/submissions/${id}/submit`, { body: signature || {}, token }),
  withdraw: (id, reason, token) =>
    request("POST", `/submissions/${id}/withdraw`, { body: reason ? { reason } : {}, token }),
  deleteDraft: (id, token) => request("DELETE", `/submissions/${id}`, { token }),
  prefill: (id, proof, token) => request("POST", `/submissions/${id}/prefill`, { body: proof, token }),
  startPayment: (id, token) => request("POST", `/submissions/${id}/payment`, { token }),
  payment: (id, token) => request("GET", `/submissions/${id}/payment`, { token }),
};
