"""Failure alerts of the platform's DAGs: one mail per failed run, through ``smtp_default``."""

from __future__ import annotations

from typing import Any

#: Who hears about failed runs (a mailing list in production).
ALERT_TO = "data-oncall@localhost"


def failure_mail(dag_id: str) -> Any:
    """The ``on_failure_callback`` that mails the on-call address when a run of ``dag_id`` fails."""
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    return SmtpNotifier(
        to=ALERT_TO,
        smtp_conn_id="smtp_default",
        subject=f"[adtarget] {dag_id} failed: {{{{ dag_run.run_id }}}}",
    )
