"""The hot lane's pool: at most `size` connections, a request past it waits for one (never
opens another), and one that waits too long gets LaneBusy, a lane error the API answers 503."""

from __future__ import annotations

import threading

import pytest

from shared.adapters.pg import LANE_ERRORS, HotLane, LaneBusy
from tests.support.harness import SuiteServices


def test_a_crowd_of_requests_shares_the_lanes_connections(services: SuiteServices) -> None:
    lane = HotLane(services.database_url, size=2)
    answers: list[list[list[object]]] = []
    threads = [
        threading.Thread(target=lambda: answers.append(lane.run("SELECT pg_sleep(0.1), 1")))
        for _ in range(8)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert len(answers) == 8 and all(rows[0][1] == 1 for rows in answers)
        assert lane.opened == 2  # eight requests, two connections: the rest waited
    finally:
        lane.close()


def test_a_request_that_finds_no_connection_in_time_is_refused(services: SuiteServices) -> None:
    lane = HotLane(services.database_url, size=1, wait_s=0.2)
    holder = threading.Thread(target=lambda: lane.run("SELECT pg_sleep(1)"))
    try:
        holder.start()
        while lane.opened == 0:  # the one connection is taken
            threading.Event().wait(0.01)
        with pytest.raises(LaneBusy) as refused:
            lane.run("SELECT 1")
        assert isinstance(refused.value, LANE_ERRORS)
        holder.join(5)
        assert lane.run("SELECT 1") == [[1]]  # free again
        assert lane.opened == 1
    finally:
        lane.close()
