"""Failure alerts of the platform's DAGs, mailed through ``smtp_default``."""

from __future__ import annotations

from collections.abc import Sequence
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


class StepFailureMail:
    """A task's ``on_failure_callback``: one mail per step that failed after its last retry.

    A plain callable rather than an ``SmtpNotifier``, so that building thousands of DAGs does not
    import the SMTP provider: it is imported when a mail is due.
    """

    def __init__(self, to: Sequence[str]) -> None:
        self.to = list(to)

    def __call__(self, context: Any) -> None:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        SmtpNotifier(
            to=self.to,
            smtp_conn_id="smtp_default",
            subject="[adtarget] {{ ti.dag_id }}.{{ ti.task_id }} failed for {{ ds }}"
            " after {{ ti.try_number }} tries",
            html_content=(
                "<p>Step <b>{{ ti.task_id }}</b> of pipeline <b>{{ ti.dag_id }}</b> failed for "
                "{{ ds }} (run {{ run_id }}, try {{ ti.try_number }}).</p>"
                '<p>Error: <code>{{ exception }}</code></p><p><a href="{{ ti.log_url }}">Log</a></p>'
            ),
        )(context)
