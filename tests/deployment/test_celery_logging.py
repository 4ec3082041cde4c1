"""Celery's routine lines about the sweeper, which runs every few seconds, stay out of the log;
the studies' lines and anything above INFO stay in."""

import logging

import pytest

from chexweb.celery import SWEEP_TASK


@pytest.mark.parametrize("logger_name", ["celery.beat", "celery.worker.strategy",
                                         "celery.app.trace"])
def test_only_the_sweeper_s_routine_lines_are_hidden(logger_name, caplog):
    logger = logging.getLogger(logger_name)
    with caplog.at_level(logging.INFO, logger=logger_name):
        logger.info("Task %s[1] succeeded in 0.003s: None", SWEEP_TASK)
        logger.info("Task diagnoses.tasks.diagnose_study[2] succeeded in 0.1s: None")
        logger.error("Task %s[3] raised unexpected: RuntimeError()", SWEEP_TASK)
    assert [record.getMessage().split("[")[1][0] for record in caplog.records] == ["2", "3"]
