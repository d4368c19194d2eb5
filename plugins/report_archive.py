"""The kept daily reports in the Airflow UI: a **Daily reports** entry in the navigation.

A FastAPI app mounted on Airflow's API server at ``/adtarget-reports/`` lists the pages the
``daily_report`` DAG keeps (``ADTARGET_REPORT_ARCHIVE_DIR``) and serves them. It asks for the
same login as the UI (the UI's session cookie, or a bearer token from ``POST /auth/token``).
"""

from __future__ import annotations

import re
from html import escape
from typing import Annotated, Any

from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

from adtarget.dailyreport.settings import DailyReportSettings

#: Only the report's own file names are served: nothing else of the folder, no path tricks.
PAGE_NAME = re.compile(r"daily-\d{4}-\d{2}-\d{2}\.html")

app = FastAPI(title="adtarget daily reports", docs_url=None, redoc_url=None, openapi_url=None)


async def _user(request: Request) -> Any:
    """The caller as Airflow's own API sees it: a bearer token, else the UI's session cookie."""
    # Imported here: every Airflow process loads plugins, only the API server serves this app.
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
    from airflow.api_fastapi.core_api.security import resolve_user_from_token

    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    token = credentials if scheme.lower() == "bearer" else request.cookies.get(COOKIE_NAME_JWT_TOKEN)
    return await resolve_user_from_token(token)  # 401 without one, 403 for a bad one


User = Annotated[Any, Depends(_user)]


@app.get("/", response_class=HTMLResponse)
def index(user: User) -> str:
    folder = DailyReportSettings().archive_dir
    names = sorted((p.name for p in folder.glob("daily-*.html") if PAGE_NAME.fullmatch(p.name)), reverse=True)
    items = "".join(f"<li><a href='{escape(n)}'>{escape(n[6:16])}</a></li>" for n in names)
    return (
        "<!doctype html><meta charset='utf-8'><meta name='viewport' content='width=device-width'>"
        "<title>Daily reports</title><body style='font-family:sans-serif'><h1>Daily reports</h1>"
        + (f"<ul>{items}</ul>" if items else "<p>No report yet: trigger the <b>daily_report</b> DAG.</p>")
    )


@app.get("/{name}")
def report(name: str, user: User) -> FileResponse:
    path = DailyReportSettings().archive_dir / name
    if not PAGE_NAME.fullmatch(name) or not path.is_file():
        raise HTTPException(status_code=404, detail=f"no daily report {name!r}")
    return FileResponse(path, media_type="text/html; charset=utf-8")


class ReportArchivePlugin(AirflowPlugin):
    """Mounts the archive on the API server and links it from the UI's navigation."""

    name = "adtarget_report_archive"
    fastapi_apps = [  # noqa: RUF012 - AirflowPlugin declares these as plain lists
        {"app": app, "url_prefix": "/adtarget-reports", "name": "adtarget daily reports"}
    ]
    external_views = [  # noqa: RUF012 - as above
        {
            "name": "Daily reports",
            "href": "adtarget-reports/",
            "destination": "nav",
            "url_route": "adtarget-daily-reports",
        }
    ]
