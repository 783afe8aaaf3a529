"""The standing texts of every problem type the API answers with, by its stable code.

- `TITLES_*`: the problem+json `title` (English) and `title_ja` of every code. Clients
  rely on both.
- `DETAILS_*`: for the few problems whose explanation never depends on the case, the
  `detail` / `detail_ja` given when the code that raises it adds none.

One catalog per language, as in a message catalog: the wording of every refusal is
reviewed in one place, and each code is declared once. An `AppError` subclass names its
code (`class PaymentNotFound(NotFound, code="PAYMENT_NOT_FOUND")`) and takes its texts
from here; a code without titles fails at import.
"""

from __future__ import annotations

from typing import Final

TITLES_EN: Final[dict[str, str]] = {
    # app.errors and plain HTTP errors
    "BAD_REQUEST": "Bad request",
    "NOT_FOUND": "Not found",
    "CONFLICT": "Conflict",
    "VALIDATION_FAILED": "The input is not valid",
    "JSON_TOO_DEEP": "The JSON document is nested too deeply",
    "NUL_CHARACTER": "The request contains a NUL character",
    "UNPAIRED_SURROGATE": "The request contains an unpaired surrogate",
    "PAYLOAD_TOO_LARGE": "The request body is too large",
    "UNAUTHORIZED": "Authentication required",
    "FORBIDDEN": "Forbidden",
    "METHOD_NOT_ALLOWED": "Method not allowed",
    "NOT_ACCEPTABLE": "Not acceptable",
    "UNSUPPORTED_MEDIA_TYPE": "Unsupported media type",
    "HTTP_ERROR": "HTTP error",
    "INTERNAL_ERROR": "Internal server error",
    # app.admin.procedures_service
    "DEFINITION_BODY_INVALID": "The definition could not be read",
    "DEFINITION_MEDIA_TYPE_UNSUPPORTED": "Send the definition as JSON or YAML",
    # app.admin.review_service
    "REJECTION_REASON_REQUIRED": "A rejection needs a reason",
    "ASSIGNEE_INVALID": "This staff member cannot review the application",
    "RECEIVED_AT_IN_FUTURE": "The time of receipt lies in the future",
    "RECEIVED_AT_BEFORE_PUBLICATION": "The time of receipt lies before the procedure was published",
    "RECEIVED_AT_OUTSIDE_FISCAL_YEARS": (
        "The time of receipt lies outside this and the previous fiscal year"
    ),
    # app.attachments.errors
    "ATTACHMENT_NOT_FOUND": "Attachment not found",
    "ATTACHMENT_UPLOAD_INVALID": "Send one file as multipart/form-data in the part `file`",
    "ATTACHMENT_TYPE_NOT_ALLOWED": "This kind of file cannot be attached",
    "ATTACHMENT_EMPTY": "The file is empty",
    "ATTACHMENT_TOO_LARGE": "The file is too large",
    "ATTACHMENT_TOTAL_TOO_LARGE": "The attachments of this application are too large together",
    "ATTACHMENT_COUNT_EXCEEDED": "No more files can be attached",
    "ATTACHMENT_IMAGE_INVALID": "The image cannot be read",
    "ATTACHMENT_IMAGE_TOO_MANY_PIXELS": "The image has too many pixels",
    "ATTACHMENT_PDF_ACTIVE_CONTENT": "The PDF contains scripts or actions",
    "ATTACHMENT_PDF_EMBEDDED_FILE": "The PDF contains embedded files",
    "ATTACHMENT_PDF_ENCRYPTED": "The PDF is password-protected",
    "ATTACHMENT_PDF_INVALID": "The PDF cannot be read",
    "ATTACHMENT_INFECTED": "The virus check found malware in the file",
    "ATTACHMENT_FIELD_INVALID": "There is no file field of this name",
    "ATTACHMENT_QUARANTINED": "The attachment has not passed the virus check",
    # app.auth.citizen_tokens
    "CITIZEN_TOKEN_INVALID": "The citizen access token is not valid",
    # app.auth.jpki.errors
    "JPKI_VERIFICATION_FAILED": "The My Number card's proof was not accepted",
    "JPKI_CERTIFICATE_INVALID": "The certificate is not a valid JPKI certificate",
    "JPKI_SIGNATURE_INVALID": "The signature does not verify",
    "JPKI_UNTRUSTED_ISSUER": (
        "The certificate was not issued by a trusted JPKI certificate authority"
    ),
    "JPKI_WRONG_CERTIFICATE_TYPE": "The wrong certificate of the card was used",
    "JPKI_CERT_EXPIRED": "The certificate has expired",
    "JPKI_CERT_NOT_YET_VALID": "The certificate is not valid yet",
    "JPKI_KEY_USAGE_INVALID": "The certificate's key usage does not allow this use",
    "JPKI_CERTIFICATE_POLICY_INVALID": "The certificate does not carry the JPKI certificate policy",
    "JPKI_CERT_REVOKED": "The certificate has been revoked",
    "JPKI_NONCE_INVALID": "The challenge is unknown, expired or already used",
    "JPKI_CRL_EXPIRED": "The revocation list is out of date",
    "JPKI_REVOCATION_UNAVAILABLE": "No revocation list is available for the issuing authority",
    "JPKI_TRUST_STORE_UNAVAILABLE": "The JPKI trust store could not be loaded",
    "JPKI_SIGNATURE_REQUIRED": "A My Number card signature is required",
    # app.auth.principals
    "AUTHENTICATION_REQUIRED": "Authentication required",
    "CITIZEN_LOGIN_REQUIRED": "Log in with your My Number card",
    # app.auth.staff_service
    "INVALID_CREDENTIALS": "The email address or password is wrong",
    "STAFF_AUTHENTICATION_REQUIRED": "Sign in as staff first",
    "STAFF_FORBIDDEN": "Your roles do not allow this",
    "STAFF_NOT_FOUND": "Staff member not found",
    "STAFF_EMAIL_TAKEN": "An account with this email address exists",
    "STAFF_ACCOUNT_INVALID": "The account details are not valid",
    "WEAK_PASSWORD": "The password is too weak",
    "STAFF_SELF_LOCKOUT": "You cannot disable yourself or drop your own admin role",
    # app.auth.staff_tokens
    "STAFF_TOKEN_INVALID": "The access token is not valid",
    # app.forms.definition_check
    "DEFINITION_INVALID": "The procedure definition is not valid",
    # app.forms.service
    "PROCEDURE_NOT_FOUND": "Procedure not found",
    "PROCEDURE_VERSION_NOT_FOUND": "Procedure version not found",
    "PROCEDURE_EXISTS": "A procedure with this code already exists",
    "PROCEDURE_VERSION_FROZEN": "A published version cannot be changed",
    "PROCEDURE_DRAFT_EXISTS": "The procedure already has a draft version",
    "PROCEDURE_CODE_MISMATCH": "The definition's code does not match the procedure",
    "PROCEDURE_NOT_PUBLISHED": "The procedure is not published",
    # app.health.service
    "NOT_READY": "The service is not ready",
    # app.http_preconditions
    "PRECONDITION_REQUIRED": "Send If-Match with the ETag of the application",
    # app.kpi.periods
    "KPI_PERIOD_INVALID": "The reporting period is not valid",
    # app.kpi.service
    "KPI_GROUP_BY_INVALID": "The grouping is not valid",
    # app.municipalities.service
    "MUNICIPALITY_CODE_INVALID": "Invalid local government code",
    "MUNICIPALITY_NOT_FOUND": "Municipality not found",
    # app.payments.alerts
    "PAYMENT_ALERT_NOT_FOUND": "Alert not found",
    "PAYMENT_ALERT_RESOLVED": "This alert is already resolved",
    # app.payments.citizen_router
    "DEMO_PROVIDER_DISABLED": "The demo payment page is not available here",
    # app.payments.providers.base
    "PAYMENT_PROVIDER_UNAVAILABLE": "The payment service could not be reached",
    "PAYMENT_PROVIDER_NOT_FOUND": "No such payment provider",
    "WEBHOOK_SIGNATURE_INVALID": "The webhook signature does not verify",
    "WEBHOOK_NOT_CONFIGURED": "This webhook is not configured here",
    "RECONCILIATION_UNAVAILABLE": "Reconciliation needs a provider with a ledger (Stripe)",
    # app.payments.reconciliation.service
    "RECONCILIATION_SCOPE_INVALID": "Name a payout, or a date range, to reconcile",
    "RECONCILIATION_RUN_NOT_FOUND": "Reconciliation run not found",
    # app.payments.service
    "PAYMENT_NOT_FOUND": "Payment not found",
    "NOTHING_TO_PAY": "This application has no fee waiting to be paid",
    "PAYMENT_CHANGED": "The payment was changed by another request",
    "PAYMENT_NOT_REFUNDABLE": "This payment cannot be refunded",
    "REFUNDABLE_AMOUNT_CHANGED": "The refundable amount has changed",
    "REFUND_NOT_FOUND": "Refund not found",
    "FEE_BALANCE_DUE": "Part of the fee is still to be paid",
    "REFUND_NOT_PROPOSED": "This refund is not waiting for confirmation",
    "REFUND_AMOUNT_INVALID": "The refund amount is not possible",
    # app.security.ratelimit
    "RATE_LIMITED": "Too many requests",
    # app.submissions.idempotency
    "IDEMPOTENCY_KEY_INVALID": "The Idempotency-Key header is not valid",
    "IDEMPOTENCY_KEY_REUSED": "The Idempotency-Key was already used for a different request",
    "IDEMPOTENCY_IN_PROGRESS": "A request with this Idempotency-Key is still being processed",
    # app.submissions.lifecycle
    "ILLEGAL_TRANSITION": "This change of status is not allowed",
    "SUBMISSION_CHANGED": "The application was changed by another request",
    # app.submissions.my_number
    "MY_NUMBER_FIELD_NOT_FOUND": "This application has no My Number at that field",
    # app.submissions.service
    "SUBMISSION_NOT_FOUND": "Application not found",
    "SUBMISSION_NOT_EDITABLE": "The application can no longer be changed",
    "SUBMISSION_NOT_DELETABLE": "Only a draft can be deleted",
    "RETURN_MESSAGE_REQUIRED": "A returned application needs a message to the applicant",
    "FEE_NOT_ADJUSTABLE": "This procedure's fee is fixed when the application is submitted",
    "FEE_QUANTITY_INVALID": "A quantity does not belong to this procedure's fees",
    "NO_FEE_DUE": "The final fee is zero: nothing to pay",
}

TITLES_JA: Final[dict[str, str]] = {
    # app.errors and plain HTTP errors
    "BAD_REQUEST": "リクエストが正しくありません",
    "NOT_FOUND": "見つかりません",
    "CONFLICT": "処理が競合しました",
    "VALIDATION_FAILED": "入力内容に誤りがあります",
    "JSON_TOO_DEEP": "JSONの入れ子が深すぎます",
    "NUL_CHARACTER": "リクエストに使用できない文字（NUL）が含まれています",
    "UNPAIRED_SURROGATE": (
        "リクエストに使用できない文字（対になっていないサロゲート）が含まれています"
    ),
    "PAYLOAD_TOO_LARGE": "送信されたデータが大きすぎます",
    "UNAUTHORIZED": "認証が必要です",
    "FORBIDDEN": "この操作は許可されていません",
    "METHOD_NOT_ALLOWED": "このメソッドは使用できません",
    "NOT_ACCEPTABLE": "要求された形式では応答できません",
    "UNSUPPORTED_MEDIA_TYPE": "対応していないデータ形式です",
    "HTTP_ERROR": "エラーが発生しました",
    "INTERNAL_ERROR": "サーバー内部でエラーが発生しました",
    # app.admin.procedures_service
    "DEFINITION_BODY_INVALID": "定義を読み取れませんでした",
    "DEFINITION_MEDIA_TYPE_UNSUPPORTED": "定義はJSONまたはYAMLで送信してください",
    # app.admin.review_service
    "REJECTION_REASON_REQUIRED": "却下には理由が必要です",
    "ASSIGNEE_INVALID": "この職員はこの申請を担当できません",
    "RECEIVED_AT_IN_FUTURE": "受付日時が未来になっています",
    "RECEIVED_AT_BEFORE_PUBLICATION": "受付日時が手続の公開開始より前になっています",
    "RECEIVED_AT_OUTSIDE_FISCAL_YEARS": "受付日時が今年度・前年度の範囲外です",
    # app.attachments.errors
    "ATTACHMENT_NOT_FOUND": "添付ファイルが見つかりません",
    "ATTACHMENT_UPLOAD_INVALID": (
        "ファイルを1つ、multipart/form-data の「file」として送信してください"
    ),
    "ATTACHMENT_TYPE_NOT_ALLOWED": "この種類のファイルは添付できません",
    "ATTACHMENT_EMPTY": "ファイルが空です",
    "ATTACHMENT_TOO_LARGE": "ファイルが大きすぎます",
    "ATTACHMENT_TOTAL_TOO_LARGE": "添付ファイルの合計サイズが上限を超えます",
    "ATTACHMENT_COUNT_EXCEEDED": "これ以上ファイルを添付できません",
    "ATTACHMENT_IMAGE_INVALID": "画像を読み込めません",
    "ATTACHMENT_IMAGE_TOO_MANY_PIXELS": "画像の画素数が多すぎます",
    "ATTACHMENT_PDF_ACTIVE_CONTENT": "PDFにスクリプトまたは自動実行の動作が含まれています",
    "ATTACHMENT_PDF_EMBEDDED_FILE": "PDFにファイルが埋め込まれています",
    "ATTACHMENT_PDF_ENCRYPTED": "PDFにパスワードが設定されています",
    "ATTACHMENT_PDF_INVALID": "PDFを読み込めません",
    "ATTACHMENT_INFECTED": "ウイルス検査で不正なプログラムが見つかりました",
    "ATTACHMENT_FIELD_INVALID": "指定された添付ファイルの項目はありません",
    "ATTACHMENT_QUARANTINED": "この添付ファイルはウイルス検査を通過していません",
    # app.auth.citizen_tokens
    "CITIZEN_TOKEN_INVALID": "ログインの有効期限が切れたか、トークンが無効です",
    # app.auth.jpki.errors
    "JPKI_VERIFICATION_FAILED": "マイナンバーカードによる確認ができませんでした",
    "JPKI_CERTIFICATE_INVALID": "電子証明書の形式が正しくありません",
    "JPKI_SIGNATURE_INVALID": "電子署名を検証できませんでした",
    "JPKI_UNTRUSTED_ISSUER": (
        "信頼された公的個人認証サービスの認証局が発行した電子証明書ではありません"
    ),
    "JPKI_WRONG_CERTIFICATE_TYPE": "使用する電子証明書の種類が違います",
    "JPKI_CERT_EXPIRED": "電子証明書の有効期限が切れています",
    "JPKI_CERT_NOT_YET_VALID": "電子証明書の有効期間が始まっていません",
    "JPKI_KEY_USAGE_INVALID": "電子証明書の鍵用途がこの用途に適合しません",
    "JPKI_CERTIFICATE_POLICY_INVALID": (
        "電子証明書に公的個人認証サービスの証明書ポリシーがありません"
    ),
    "JPKI_CERT_REVOKED": "電子証明書は失効しています",
    "JPKI_NONCE_INVALID": "チャレンジが無効です（期限切れまたは使用済み）",
    "JPKI_CRL_EXPIRED": "失効情報（CRL）の有効期限が切れています",
    "JPKI_REVOCATION_UNAVAILABLE": "発行元の認証局の失効情報（CRL）がありません",
    "JPKI_TRUST_STORE_UNAVAILABLE": "公的個人認証サービスの信頼点を読み込めませんでした",
    "JPKI_SIGNATURE_REQUIRED": "マイナンバーカードによる電子署名が必要です",
    # app.auth.principals
    "AUTHENTICATION_REQUIRED": "認証が必要です",
    "CITIZEN_LOGIN_REQUIRED": "マイナンバーカードでのログインが必要です",
    # app.auth.staff_service
    "INVALID_CREDENTIALS": "メールアドレスまたはパスワードが正しくありません",
    "STAFF_AUTHENTICATION_REQUIRED": "職員としてログインしてください",
    "STAFF_FORBIDDEN": "この操作を行う権限がありません",
    "STAFF_NOT_FOUND": "職員が見つかりません",
    "STAFF_EMAIL_TAKEN": "このメールアドレスのアカウントは既に存在します",
    "STAFF_ACCOUNT_INVALID": "アカウントの内容に誤りがあります",
    "WEAK_PASSWORD": "パスワードが弱すぎます",
    "STAFF_SELF_LOCKOUT": "自分自身の無効化や管理者権限の削除はできません",
    # app.auth.staff_tokens
    "STAFF_TOKEN_INVALID": "アクセストークンが無効です",
    # app.forms.definition_check
    "DEFINITION_INVALID": "手続の定義に誤りがあります",
    # app.forms.service
    "PROCEDURE_NOT_FOUND": "手続が見つかりません",
    "PROCEDURE_VERSION_NOT_FOUND": "手続の版が見つかりません",
    "PROCEDURE_EXISTS": "同じコードの手続が既に存在します",
    "PROCEDURE_VERSION_FROZEN": "公開済みの版は変更できません",
    "PROCEDURE_DRAFT_EXISTS": "この手続には編集中の版が既にあります",
    "PROCEDURE_CODE_MISMATCH": "定義のコードが手続のコードと一致しません",
    "PROCEDURE_NOT_PUBLISHED": "この手続は公開されていません",
    # app.health.service
    "NOT_READY": "サービスの準備ができていません",
    # app.http_preconditions
    "PRECONDITION_REQUIRED": "申請のETagをIf-Matchで送信してください",
    # app.kpi.periods
    "KPI_PERIOD_INVALID": "集計期間の指定が正しくありません",
    # app.kpi.service
    "KPI_GROUP_BY_INVALID": "集計の単位（group_by）の指定が正しくありません",
    # app.municipalities.service
    "MUNICIPALITY_CODE_INVALID": "全国地方公共団体コードが正しくありません",
    "MUNICIPALITY_NOT_FOUND": "地方公共団体が見つかりません",
    # app.payments.alerts
    "PAYMENT_ALERT_NOT_FOUND": "確認事項が見つかりません",
    "PAYMENT_ALERT_RESOLVED": "この確認事項は対応済みです",
    # app.payments.citizen_router
    "DEMO_PROVIDER_DISABLED": "デモ決済画面はこの環境では利用できません",
    # app.payments.providers.base
    "PAYMENT_PROVIDER_UNAVAILABLE": "決済サービスに接続できませんでした",
    "PAYMENT_PROVIDER_NOT_FOUND": "この決済代行は存在しません",
    "WEBHOOK_SIGNATURE_INVALID": "Webhookの署名を検証できません",
    "WEBHOOK_NOT_CONFIGURED": "このWebhookは設定されていません",
    "RECONCILIATION_UNAVAILABLE": "消込にはStripeの設定が必要です",
    # app.payments.reconciliation.service
    "RECONCILIATION_SCOPE_INVALID": "消込の対象（入金ID、または期間）を指定してください",
    "RECONCILIATION_RUN_NOT_FOUND": "消込結果が見つかりません",
    # app.payments.service
    "PAYMENT_NOT_FOUND": "決済が見つかりません",
    "NOTHING_TO_PAY": "この申請には支払待ちの手数料がありません",
    "PAYMENT_CHANGED": "決済が他の操作で変更されました",
    "PAYMENT_NOT_REFUNDABLE": "この決済は返金できません",
    "REFUNDABLE_AMOUNT_CHANGED": "返金可能額が変わっています",
    "REFUND_NOT_FOUND": "返金が見つかりません",
    "FEE_BALANCE_DUE": "未納の手数料があります",
    "REFUND_NOT_PROPOSED": "この返金は確認待ちではありません",
    "REFUND_AMOUNT_INVALID": "返金額が正しくありません",
    # app.security.ratelimit
    "RATE_LIMITED": "リクエストが多すぎます",
    # app.submissions.idempotency
    "IDEMPOTENCY_KEY_INVALID": "Idempotency-Keyヘッダーが正しくありません",
    "IDEMPOTENCY_KEY_REUSED": "このIdempotency-Keyは別の内容のリクエストで使用済みです",
    "IDEMPOTENCY_IN_PROGRESS": "同じIdempotency-Keyのリクエストを処理中です",
    # app.submissions.lifecycle
    "ILLEGAL_TRANSITION": "この状態では実行できません",
    "SUBMISSION_CHANGED": "申請が他の操作で変更されました",
    # app.submissions.my_number
    "MY_NUMBER_FIELD_NOT_FOUND": "指定された項目に個人番号はありません",
    # app.submissions.service
    "SUBMISSION_NOT_FOUND": "申請が見つかりません",
    "SUBMISSION_NOT_EDITABLE": "この申請は変更できません",
    "SUBMISSION_NOT_DELETABLE": "削除できるのは下書きだけです",
    "RETURN_MESSAGE_REQUIRED": "差戻しには申請者へのメッセージが必要です",
    "FEE_NOT_ADJUSTABLE": "この手続の手数料は申請時に確定しています",
    "FEE_QUANTITY_INVALID": "手数料の数量の指定が正しくありません",
    "NO_FEE_DUE": "確定した手数料が0円のため、支払は不要です",
}

DETAILS_EN: Final[dict[str, str]] = {
    # app.errors
    "INTERNAL_ERROR": "An unexpected error occurred. Please try again later.",
    # app.attachments.errors
    "ATTACHMENT_NOT_FOUND": "No attachment with this id exists for these credentials.",
    "ATTACHMENT_PDF_ACTIVE_CONTENT": (
        "PDFs with JavaScript, launch or other automatic actions cannot be attached. "
        "Print it to a new PDF, or attach a photo of the document."
    ),
    "ATTACHMENT_PDF_EMBEDDED_FILE": (
        "PDFs carrying other files cannot be attached; attach each document itself."
    ),
    "ATTACHMENT_PDF_ENCRYPTED": "Remove the password from the PDF, then attach it again.",
    "ATTACHMENT_PDF_INVALID": (
        "The file starts like a PDF but cannot be read as one. Save it again as PDF."
    ),
    "ATTACHMENT_INFECTED": "The file was not stored. Check your device with anti-virus software.",
    # app.payments.alerts
    "PAYMENT_ALERT_NOT_FOUND": "No alert with this id exists for your municipality.",
    # app.payments.service
    "PAYMENT_NOT_FOUND": "No payment with this id exists for these credentials.",
    "PAYMENT_CHANGED": "The payment was changed at the same time. Reload it and try again.",
    "REFUND_NOT_FOUND": "No refund with this id exists.",
    # app.submissions.lifecycle
    "SUBMISSION_CHANGED": "The application was changed at the same time. Reload it and try again.",
    # app.submissions.service
    "SUBMISSION_NOT_FOUND": "No application with this id exists for these credentials.",
}

DETAILS_JA: Final[dict[str, str]] = {
    # app.errors
    "INTERNAL_ERROR": "予期しないエラーが発生しました。時間をおいて再度お試しください。",
    # app.attachments.errors
    "ATTACHMENT_NOT_FOUND": "この添付ファイルは存在しないか、アクセスする権限がありません。",
    "ATTACHMENT_PDF_ACTIVE_CONTENT": (
        "JavaScriptや外部プログラムの起動などを含むPDFは添付できません。"
        "PDFとして印刷し直すか、書類の写真を添付してください。"
    ),
    "ATTACHMENT_PDF_EMBEDDED_FILE": (
        "ほかのファイルを埋め込んだPDFは添付できません。書類そのものを添付してください。"
    ),
    "ATTACHMENT_PDF_ENCRYPTED": "PDFのパスワードを解除してから、もう一度添付してください。",
    "ATTACHMENT_PDF_INVALID": "PDFとして読み込めないファイルです。PDFとして保存し直してください。",
    "ATTACHMENT_INFECTED": (
        "ファイルは保存されていません。お使いの機器をウイルス対策ソフトで確認してください。"
    ),
    # app.payments.alerts
    "PAYMENT_ALERT_NOT_FOUND": "この確認事項は存在しないか、アクセスする権限がありません。",
    # app.payments.service
    "PAYMENT_NOT_FOUND": "この決済は存在しないか、アクセスする権限がありません。",
    "PAYMENT_CHANGED": "同時に決済が変更されました。再読み込みしてからもう一度お試しください。",
    "REFUND_NOT_FOUND": "この返金は存在しません。",
    # app.submissions.lifecycle
    "SUBMISSION_CHANGED": "同時に申請が変更されました。再読み込みしてからもう一度お試しください。",
    # app.submissions.service
    "SUBMISSION_NOT_FOUND": "この申請は存在しないか、アクセスする権限がありません。",
}
