"""The plots draw what they show: one bar per note, the best validation epoch, the data's line."""

from __future__ import annotations

import pytest

from course_lib.notes import Note


def test_plot_draws_one_bar_per_note():
    import matplotlib

    matplotlib.use("Agg")
    from course_lib.plot import plot_pianoroll

    ax = plot_pianoroll([Note(0.0, 1.0, 60, voice=0), Note(1.0, 3.0, 48, voice=3)], beats_per_bar=3)
    assert len(ax.collections) == 2  # one per voice
    assert [t.get_text() for t in ax.get_yticklabels()][:2] == ["C3", "E3"]


def test_training_curves_mark_the_best_validation_epoch():
    import matplotlib

    matplotlib.use("Agg")
    from course_lib.plot import plot_training_curves

    history = {"loss": [3.0, 2.0, 1.5, 1.2], "val_loss": [3.1, 2.2, 2.6, 2.9], "accuracy": [0.1, 0.3, 0.4, 0.5]}
    history["val_accuracy"] = [0.1, 0.2, 0.35, 0.3]
    loss_ax, accuracy_ax = plot_training_curves(history)
    assert loss_ax.get_ylabel() == "loss" and accuracy_ax.get_ylabel() == "accuracy"
    assert [list(line.get_ydata()) for line in loss_ax.lines[:2]] == [history["loss"], history["val_loss"]]
    # the marker sits at the lowest validation loss (epoch 2) and the highest validation accuracy (epoch 3)
    assert loss_ax.lines[2].get_xdata()[0] == 2 and accuracy_ax.lines[2].get_xdata()[0] == 3
    with pytest.raises(ValueError, match="no metrics"):
        plot_training_curves({})


def test_metric_comparison_draws_bars_and_the_data_line():
    import matplotlib

    matplotlib.use("Agg")
    from course_lib.plot import plot_metric_comparison

    values = {"LSTM": {"polyphony": 3.2, "empty bars": 0.1}, "GAN": {"polyphony": 2.5, "empty bars": 0.4}}
    empty_ax, polyphony_ax = plot_metric_comparison(values, reference={"polyphony": 3.6})
    assert polyphony_ax.get_title() == "polyphony" and empty_ax.get_title() == "empty bars"
    assert [bar.get_height() for bar in polyphony_ax.patches] == pytest.approx([3.2, 2.5])
    assert [bar.get_height() for bar in empty_ax.patches] == pytest.approx([0.1, 0.4])
    assert polyphony_ax.lines[0].get_ydata()[0] == 3.6 and not empty_ax.lines  # no reference given for it
    assert [t.get_text() for t in polyphony_ax.get_xticklabels()] == ["LSTM", "GAN"]
