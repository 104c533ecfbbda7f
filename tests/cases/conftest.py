"""Case tests drive the deadline watch by hand (watch_once) with the settable clock; the
background watcher is slowed right down so it never races a test."""

import pytest

from tests.conftest import config as base_config  # noqa: F401  (re-exported fixture)


@pytest.fixture
def config(base_config):  # noqa: F811
    base_config.cases.watch_interval_s = 3600.0
    return base_config
