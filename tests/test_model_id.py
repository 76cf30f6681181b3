"""Model ids: parsed and formatted in one place (`models.model_id`)."""

from __future__ import annotations

import pytest

from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.models.model_id import ModelId


@pytest.mark.parametrize("text", ["tracr:3", "siit:21", "siit:21:release", "algzoo:2nd_argmax:rnn:h4:n3:s0"])
def test_an_id_reads_back_as_written(text: str) -> None:
    assert str(ModelId.parse(text)) == text


def test_case_models_name_their_case_and_run() -> None:
    assert ModelId.parse("tracr:3") == ModelId.tracr(3)
    assert (ModelId.parse("siit:21:b1").case_id, ModelId.parse("siit:21:b1").run_id) == (21, "b1")
    assert ModelId.parse("siit:21").run_id is None and ModelId.siit(21) == ModelId.parse("siit:21")
    assert ModelId.parse("algzoo:sort:transformer:h4:n4").case_id is None


def test_result_folders_and_table_names() -> None:
    assert ModelId.parse("tracr:3").folders() == ("case-003", "tracr")
    assert ModelId.parse("siit:21:release").folders() == ("case-021", "siit-release")
    assert ModelId.parse("algzoo:sort:transformer:h4:n4").folders() == ("algzoo-sort", "transformer-h4-n4")
    assert ModelId.parse("tracr:3").display_name() == "case 3"
    assert ModelId.parse("siit:3:release").display_name() == "siit:3:release"


def test_same_model_ignores_the_run() -> None:
    assert ModelId.parse("siit:3").same_model_as(ModelId.parse("siit:3:release"))
    assert not ModelId.parse("siit:3").same_model_as(ModelId.parse("tracr:3"))


@pytest.mark.parametrize("text", ["", ":3", "tracr:x", "tracr:3:4", "siit:", "siit:3:a:b"])
def test_malformed_ids_are_refused_with_the_form_to_use(text: str) -> None:
    with pytest.raises(BenchmarkError, match="malformed"):
        ModelId.parse(text)
