"""Notifications (通知): emails to the applicant about their application, written to an
outbox in the transaction of the event and delivered over SMTP afterwards."""
