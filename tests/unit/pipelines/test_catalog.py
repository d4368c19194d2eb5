"""Reading pipelines: order, defaults, and problems named by file, line and field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from adtarget.pipelines import catalog
from adtarget.pipelines.errors import PipelineError
from adtarget.pipelines.settings import PipelineSettings

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "pipelines"


def _settings(root: Path) -> PipelineSettings:
    return PipelineSettings(dir=root)


def _problems(source: Path, root: Path) -> list[str]:
    with pytest.raises(PipelineError) as caught:
        catalog.load(source, _settings(root))
    return [str(p).removeprefix(f"{root}/") for p in caught.value.problems]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_fixture_folder_reads_with_pipeline_defaults_and_step_overrides() -> None:
    pipelines, errors = catalog.load_all(_settings(FIXTURES))
    assert errors == []
    by_name = {p.name: p for p in pipelines}
    assert sorted(by_name) == ["daily_counts", "failing", "ordered", "spark_counts", "waiting"]

    ordered = by_name["ordered"]
    assert ordered.dag_id == "sql_ordered"
    assert (ordered.schedule, ordered.start_date, ordered.end_date) == (
        "@hourly",
        dt.date(2026, 6, 1),
        dt.date(2026, 12, 31),
    )
    assert ordered.owner == "marts-team"
    assert ordered.alert_email == ("a@example.com", "b@example.com")
    stage, report, publish = ordered.steps
    assert [s.task_id for s in ordered.steps] == ["010_stage", "020_report", "030_publish"]
    # pipeline.yaml sets the defaults; a step's own block overrides them for that step only.
    assert (stage.engine, stage.conn_id, stage.retries, stage.retry_delay, stage.timeout) == (
        "spark",
        "spark_default",
        4,
        120,
        3600,
    )
    assert (report.engine, report.conn_id, report.retries) == ("hiveserver2", "hiveserver2_default", 0)
    assert (publish.timeout, publish.depends_on) == (90, ("010_stage",))
    assert report.depends_on == ("010_stage",)  # file order by default
    assert stage.produces == ("adtarget_test.stage",)
    assert ordered.tables == ("adtarget_test.stage",)

    daily = by_name["daily_counts"]
    # The comment line is dropped; each statement is kept as a template.
    assert len(daily.steps[0].statements) == 3
    assert "{{ params.label }}" in daily.steps[0].statements[2]
    assert daily.catchup is False
    assert daily.max_active_runs == 1
    assert by_name["waiting"].wait_for == ("pipeline:daily_counts", "table:adtarget.search_log")
    assert by_name["failing"].schedule is None


def test_defaults_come_from_the_settings(tmp_path: Path) -> None:
    _write(tmp_path / "plain.sql", "/* ---\nstart_date: 2026-01-01\n--- */\nSELECT 1;\n")
    settings = PipelineSettings(dir=tmp_path, retries=7, retry_delay=11, alert_email=["x@y.z"], owner="o")
    (p,), errors = catalog.load_all(settings)
    assert errors == []
    assert (p.schedule, p.owner, p.alert_email) == ("@daily", "o", ("x@y.z",))
    assert (p.steps[0].retries, p.steps[0].retry_delay) == (7, 11)


def test_a_wrong_type_names_file_line_and_field(tmp_path: Path) -> None:
    src = _write(
        tmp_path / "bad.sql",
        "\n/* ---\nschedule: '@daily'\nstart_date: 2026-01-01\nretries: three\n--- */\nSELECT 1;\n",
    )
    assert _problems(src, tmp_path) == ["bad.sql:5: field 'retries': 'three' is not of type 'integer'"]


def test_an_unknown_field_suggests_the_known_one(tmp_path: Path) -> None:
    src = _write(tmp_path / "typo.sql", "/* ---\nstart_date: 2026-01-01\nretires: 3\n--- */\nSELECT 1;\n")
    assert _problems(src, tmp_path) == ["typo.sql:3: field 'retires': unknown field; did you mean 'retries'?"]


def test_nested_values_point_at_their_own_line(tmp_path: Path) -> None:
    src = _write(
        tmp_path / "lists.sql",
        "/* ---\nstart_date: 2026-01-01\nalert_email:\n  - ok@example.com\n  - not-an-address\n"
        "retry_delay: 5 minutes\n--- */\nSELECT 1;\n",
    )
    problems = _problems(src, tmp_path)
    assert problems[0].startswith("lists.sql:3: field 'alert_email': ")  # oneOf: the whole value
    assert problems[1] == (
        "lists.sql:6: field 'retry_delay': '5 minutes' is not valid: "
        "seconds as an integer, or a number with a unit: 90s, 5m, 2h, 1d"
    )


def test_yaml_syntax_and_unclosed_blocks_are_reported_at_their_line(tmp_path: Path) -> None:
    src = _write(tmp_path / "yaml.sql", "/* ---\nstart_date: 2026-01-01\ntags: [a, b\n--- */\nSELECT 1;\n")
    (problem,) = _problems(src, tmp_path)
    assert problem.startswith("yaml.sql:4: YAML does not parse")
    src = _write(tmp_path / "open.sql", "\n\n/* ---\nstart_date: 2026-01-01\nSELECT 1;\n")
    assert _problems(src, tmp_path) == [
        "open.sql:3: the frontmatter opened by '/* ---' is never closed by a '--- */' line"
    ]


def test_pipeline_keys_belong_to_the_first_file(tmp_path: Path) -> None:
    _write(tmp_path / "p" / "010_a.sql", "/* ---\nstart_date: 2026-01-01\n--- */\nSELECT 1;\n")
    _write(tmp_path / "p" / "020_b.sql", "/* ---\nretries: 1\nschedule: '@hourly'\n--- */\nSELECT 2;\n")
    assert _problems(tmp_path / "p", tmp_path) == [
        "p/020_b.sql:3: field 'schedule': belongs to the pipeline: set it in 010_a.sql"
    ]
    _write(tmp_path / "p" / "pipeline.yaml", "start_date: 2026-01-01\nproduces: [a.b]\n")
    problems = _problems(tmp_path / "p", tmp_path)
    assert "p/pipeline.yaml:2: field 'produces': belongs to a step file, not pipeline.yaml" in problems


def test_depends_on_unknown_steps_and_cycles(tmp_path: Path) -> None:
    _write(tmp_path / "c" / "pipeline.yaml", "start_date: 2026-01-01\n")
    _write(tmp_path / "c" / "a.sql", "/* ---\ndepends_on: [b]\n--- */\nSELECT 1;\n")
    _write(tmp_path / "c" / "b.sql", "/* ---\ndepends_on: [a, zz]\n--- */\nSELECT 2;\n")
    assert _problems(tmp_path / "c", tmp_path) == [
        "c/b.sql:2: field 'depends_on': no step file zz.sql here",
        "c/a.sql:1: field 'depends_on': a cycle: a -> b -> a",
    ]


def test_schedule_start_date_and_sql_checks(tmp_path: Path) -> None:
    src = _write(tmp_path / "s.sql", "/* ---\nschedule: '61 * * * *'\n--- */\n-- only a comment\n")
    assert _problems(src, tmp_path) == [
        "s.sql:4: no SQL statement after the frontmatter",
        "s.sql:1: field 'start_date': required for a scheduled pipeline (YYYY-MM-DD, UTC)",
        "s.sql:2: field 'schedule': '61 * * * *' is not a valid cron expression",
    ]
    src = _write(
        tmp_path / "t.sql",
        "/* ---\nstart_date: 2026-02-01\nend_date: 2026-01-01\n--- */\nSELECT 1\nWHERE x = {{ ds }\n",
    )
    assert _problems(src, tmp_path) == [
        "t.sql:6: template does not parse: unexpected '}'",
        "t.sql:3: field 'end_date': 2026-01-01 is before start_date 2026-02-01",
    ]


def test_one_broken_pipeline_leaves_the_others_loaded(tmp_path: Path) -> None:
    _write(tmp_path / "good.sql", "/* ---\nstart_date: 2026-01-01\n--- */\nSELECT 1;\n")
    _write(tmp_path / "bad.sql", "/* ---\nstart_date: nope\n--- */\nSELECT 1;\n")
    _write(tmp_path / "Bad-Name.sql", "SELECT 1;\n")
    _write(tmp_path / "_shared.sql", "not a pipeline")
    _write(tmp_path / "empty" / "README.md", "no steps")
    pipelines, errors = catalog.load_all(_settings(tmp_path))
    assert [p.name for p in pipelines] == ["good"]
    assert sorted(e.pipeline for e in errors) == ["Bad-Name", "bad", "empty"]
    messages = "\n".join(str(e) for e in errors)
    assert "bad.sql:2: field 'start_date': 'nope' is not valid" in messages
    assert "the folder holds no .sql step file" in messages


@pytest.mark.parametrize(("text", "value"), [(5, 5), ("90s", 90), ("5m", 300), ("2h", 7200), ("1d", 86400)])
def test_durations(text: int | str, value: int) -> None:
    assert catalog.seconds(text) == value
