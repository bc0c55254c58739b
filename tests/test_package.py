"""What importing course_lib sets up before a notebook's first cell."""

import logging

import course_lib


def test_tensorflows_retracing_warning_is_dropped_and_its_other_warnings_are_not(caplog):
    logger = logging.getLogger("tensorflow")
    assert course_lib.drop_retracing_warning in logger.filters
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        logger.warning("5 out of the last 410 calls to <function f> triggered tf.function retracing. Tracing is ...")
        logger.warning("something a student should see")
    assert [record.getMessage() for record in caplog.records] == ["something a student should see"]
