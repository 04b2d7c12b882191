"""`flask --app app intake route FILE|-`: prints the decision JSON; exit 2 with a message on bad input."""
import json

import pytest

from practice import create_app
from tests.conftest import _base_config
from tests.answers import valid_answers


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    return create_app(_base_config(tmp, f"sqlite:///{tmp}/unused.sqlite3")).test_cli_runner()


def test_routes_a_calm_couple_to_couples_therapy(cli, tmp_path):
    path = tmp_path / "intake.json"
    path.write_text(json.dumps({"format": "couple", "partners": [{"answers": valid_answers()},
                                                                  {"answers": valid_answers()}]}))
    result = cli.invoke(args=["intake", "route", str(path)])
    assert result.exit_code == 0, result.output
    decision = json.loads(result.output)
    assert decision["track"] == "couples" and decision["urgent"] is False
    assert set(decision) >= {"track", "urgent", "flags", "reasons", "scores"}


def test_reads_standard_input_and_flags_suicide_risk(cli):
    answers = valid_answers(suicide_wished_dead=True, suicide_now=False)
    result = cli.invoke(args=["intake", "route", "-"],
                        input=json.dumps({"format": "individual", "partners": [{"answers": answers}]}))
    assert result.exit_code == 0, result.output
    decision = json.loads(result.output)
    assert decision["track"] == "safety_review" and decision["urgent"] is True
    assert {"code": "suicide_risk", "partner": 0, "severity": "urgent"} in decision["flags"]


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ('{"format": "triad", "partners": []}', "format"),
    ('{"format": "individual", "partners": [{"answers": {"csi4_1": 9}}]}', "csi4_1"),
])
def test_invalid_input_exits_2_with_a_message(cli, text, message):
    result = cli.invoke(args=["intake", "route", "-"], input=text)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
