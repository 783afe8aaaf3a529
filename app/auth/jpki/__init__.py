"""My Number card identity (公的個人認証サービス, JPKI): the verifier protocol, its local
implementation against trust anchors and CRLs on disk, citizen login by the
利用者証明用電子証明書 and evidence from the 署名用電子証明書."""
