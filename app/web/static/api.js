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

async function request(method, path, { body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  if (method === "POST") headers["Idempotency-Key"] = crypto.randomUUID();
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
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
  createSubmission: (code, procedureCode, answers, token) =>
    request("POST", `/municipalities/${code}/procedures/${procedureCode}/submissions`, {
      body: { answers, submit: false },
      token,
    }),
  submission: (id, token) => request("GET", `/submissions/${id}`, { token }),
  saveAnswers: (id, answers, token) =>
    request("PATCH", `/submissions/${id}`, { body: { answers }, token }),
  signingDocument: (id, token) => request("GET", `/submissions/${id}/signing-document`, { token }),
  submit: (id, signature, token) =>
    request("POST", `/submissions/${id}/submit`, { body: signature || {}, token }),
  startPayment: (id, token) => request("POST", `/submissions/${id}/payment`, { token }),
};
