"""The trigger form of an audience DAG: the template's params, then what to do with the audience.

Kept free of heavy imports: DAG files build their params from it at every parse.
"""

from __future__ import annotations

from typing import Any

from adtarget.segments.templates import FILTERS, Template

#: Params of an audience DAG that are not the template's: what to do with the audience.
CONTROL: dict[str, dict[str, Any]] = {
    "register": {
        "type": "boolean",
        "title": "Register the segment",
        "description": "Off: only size the audience. On: also register it for the daily delivery.",
        "default": False,
    },
    "name": {
        "type": ["null", "string"],
        "title": "Segment name",
        "description": "Name of the segment to register (needed when registering). A live "
        "segment of that name gets a new version.",
        "maxLength": 200,
        "default": None,
    },
    "owner": {
        "type": ["null", "string"],
        "title": "Owner",
        "description": "Who answers for the segment. Empty: the user who triggered the run.",
        "maxLength": 200,
        "default": None,
    },
    "expires_on": {
        "type": ["null", "string"],
        "format": "date",
        "title": "Expires on",
        "description": "Last day the segment is delivered (YYYY-MM-DD). Empty: no expiry.",
        "default": None,
    },
}


def params_schema(tmpl: Template) -> dict[str, dict[str, Any]]:
    """Each param of an audience DAG as a JSON schema (Airflow ``Param(**schema)``): the
    template's params, then :data:`CONTROL`, each in its section of the trigger form."""
    schema = {
        name: {**spec, "section": "Demographic filters" if name in FILTERS else "Audience"}
        for name, spec in tmpl.properties.items()
    }
    return schema | {name: {**spec, "section": "Registration"} for name, spec in CONTROL.items()}
