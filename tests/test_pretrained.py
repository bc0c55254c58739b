"""The shipped models and their cards (course_lib.pretrained): what is shipped, what a damaged folder reports,
and what a model file from ``train`` must bring to be loaded."""

from __future__ import annotations

import json

import pytest

from course_lib import pretrained
from course_lib.datasets import DataError, sha256_of
from course_lib.errors import CourseError


def test_every_shipped_model_is_there_whole():
    assert pretrained.available() == list(pretrained.SHIPPED)
    assert pretrained.problems() == []


def test_an_unknown_model_names_the_shipped_ones():
    with pytest.raises(DataError, match="no pretrained model 'tcn'.*shipped: melody, melody-transformer, chorale"):
        pretrained.card("tcn")


def test_a_damaged_folder_reports_each_problem_once(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path)
    (tmp_path / "melody.keras").write_bytes(b"changed")
    (tmp_path / "melody.json").write_text(json.dumps({"model_sha256": "0" * 64, "command": "train melody"}))
    (tmp_path / "chorale.json").write_text(json.dumps({"model_sha256": "0" * 64}))  # its model is gone
    (tmp_path / "gan.json").write_text("{not json")
    (tmp_path / "orphan.keras").write_bytes(b"a model without a card")
    found = pretrained.problems()
    assert len(found) == 4
    assert "orphan.keras has no card" in found[0]
    assert found[1].endswith(
        "chorale.keras is missing; restore it with git, or retrain: python -m course_lib train chorale --publish"
    )
    assert "gan.json is not a model card" in found[2]
    assert found[3].endswith("melody.keras does not match its card; restore it with git, or retrain: train melody")
    assert pretrained.available() == ["melody", "chorale", "gan"]


def test_a_trained_model_needs_its_own_card_and_checksum(tmp_path):
    model = tmp_path / "chorale.keras"
    model.write_bytes(b"not a zip file")
    with pytest.raises(CourseError, match="its card chorale.json"):
        pretrained.load_with_card("chorale", model)
    card = tmp_path / "chorale.json"
    card.write_text(json.dumps({"name": "melody"}))
    with pytest.raises(CourseError, match="is a 'melody' model .* run generate melody --model"):
        pretrained.load_with_card("chorale", model)
    card.write_text(json.dumps({"name": "chorale", "model_sha256": "0" * 64}))
    with pytest.raises(CourseError, match="does not match the checksum"):
        pretrained.load_with_card("chorale", model)
    card.write_text(json.dumps({"name": "chorale", "model_sha256": sha256_of(model)}))
    with pytest.raises(CourseError, match="not a Keras model file .* train chorale"):
        pretrained.load_with_card("chorale", model)


def test_publishing_copies_the_model_and_its_card(tmp_path, monkeypatch):
    trained, shipped = tmp_path / "train", tmp_path / "shipped"
    trained.mkdir()
    shipped.mkdir()
    (trained / "gan.keras").write_bytes(b"weights")
    (trained / "gan.json").write_text("{}")
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", shipped)
    assert pretrained.publish("gan", trained) == [shipped / "gan.keras", shipped / "gan.json"]
    assert (shipped / "gan.keras").read_bytes() == b"weights" and (shipped / "gan.json").read_text() == "{}"
