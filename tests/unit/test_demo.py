"""The demo's example segments are valid params of their templates, and its CLI explains itself."""

from __future__ import annotations

import pytest

from adtarget import demo
from adtarget.segments.params import validate
from adtarget.segments.templates import template


@pytest.mark.parametrize(("template_id", "params", "name"), demo.EXAMPLES)
def test_example_segments_are_valid(template_id: str, params: dict[str, object], name: str) -> None:
    assert validate(template(template_id), params)
    assert name.startswith("demo: ")


def test_help_names_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        demo.main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for option in ("--day", "--users", "--events"):
        assert option in out
