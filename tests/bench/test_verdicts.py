"""The benchmark's verdicts (bench/verdicts.py): each row of the issue's table judged from the
figures of one run, and "not measured" where the run did not measure it."""

from __future__ import annotations

from typing import Any

from bench.verdicts import MET, NOT_MEASURED, NOT_MET, verdicts


def a_run(**changes: Any) -> dict[str, Any]:
    """A run that meets every target; `changes` replace whole sections."""
    results: dict[str, Any] = {
        # Judged in the handler; the server's figures (past every limit) only said beside.
        "api_cpu": {
            "bid": 1200.0,
            "get_auction": 800.0,
            "list_20": 2900.0,
            "in_handler": {"bid": 600.0, "get_auction": 500.0, "list_20": 1000.0},
        },
        "hot_auction": {
            "as_is": {
                "32": {
                    "http_floor": {"attempts_per_s": 4000.0},
                    "bid_path": {"attempts_per_s": 1000.0, "p99_ms": 40.0},
                },
                "128": {
                    "bid_path": {"attempts_per_s": 1000.0, "p99_ms": 100.0},
                    "row_lock": {"attempts_per_s": 300.0, "p99_ms": 200.0},
                },
            }
        },
        "cold_start": {"total_ms": 250.0},
        "sniping": {"early_refused_not_live": 0, "bid_to_all_watchers": {"p99_ms": 100.0}},
        "sniping_lambda": {
            "refused_not_live_though_arrived_before_ends_at": 0,
            "instances_started_cold_in_the_burst": 3,
            "bid_to_all_watchers": {"p99_ms": 150.0},
        },
        "many_auctions": {"attempts_per_s": 2000.0, "p99_ms": 80.0},
        "fan_out_two_nodes": {
            "p99_ms": 99.0,
            "clients": 10000,
            "every_client_got_every_bid_once": True,
        },
        "fan_out": {"rss_per_idle_connection_kib": 12.0},
        "photo_memory": {"jpeg_12mp": {"peak_mb": 256.0}, "png_6300": {"peak_mb": 256.0}},
        "ledger": {
            "inclusion_proof_hashes_max": 14,
            "verify_s": 1.0,
            "verify_cpu_s": 0.2,
            "api_cpu_us_per_bid": 50.0,
        },
    }
    results.update(changes)
    return results


def by_verdict(results: dict[str, Any]) -> list[str]:
    return [row["verdict"] for row in verdicts(results)]


def test_every_row_at_its_limit_is_met() -> None:
    assert by_verdict(a_run()) == [MET] * 13


def test_an_empty_run_prints_every_row_as_not_measured() -> None:
    rows = verdicts({})
    assert [r["verdict"] for r in rows] == [NOT_MEASURED] * 13
    assert all(r["met"] is None and r["measured"] == NOT_MEASURED for r in rows)


def test_each_figure_past_its_limit_is_not_met() -> None:
    run = a_run()
    hot = run["hot_auction"]["as_is"]
    handler = run["api_cpu"]["in_handler"]
    misses = {
        0: {"api_cpu": {**run["api_cpu"], "in_handler": {**handler, "bid": 601.0}}},
        1: {"api_cpu": {**run["api_cpu"], "in_handler": {**handler, "list_20": 1001.0}}},
        2: {
            "hot_auction": {
                "as_is": {**hot, "32": {**hot["32"], "http_floor": {"attempts_per_s": 4001.0}}}
            }
        },
        3: {
            "hot_auction": {
                "as_is": {
                    **hot,
                    "32": {**hot["32"], "bid_path": {"attempts_per_s": 1000.0, "p99_ms": 40.1}},
                }
            }
        },
        4: {
            "hot_auction": {
                "as_is": {
                    **hot,
                    "128": {**hot["128"], "row_lock": {"attempts_per_s": 1.0, "p99_ms": 199.0}},
                }
            }
        },
        5: {"cold_start": {"total_ms": 250.5}},
        6: {"sniping": {"early_refused_not_live": 1, "bid_to_all_watchers": {"p99_ms": 5.0}}},
        7: {
            "sniping_lambda": {
                "refused_not_live_though_arrived_before_ends_at": 0,
                "bid_to_all_watchers": {"p99_ms": 150.1},
            }
        },
        8: {
            "fan_out_two_nodes": {
                "p99_ms": 10.0,
                "clients": 10000,
                "every_client_got_every_bid_once": False,
            }
        },
        9: {"fan_out": {"rss_per_idle_connection_kib": 12.5}},
        10: {"photo_memory": {"jpeg_12mp": {"peak_mb": 74.0}, "png_6300": {"peak_mb": 257.0}}},
        11: {
            "ledger": {
                "inclusion_proof_hashes_max": 15,
                "verify_s": 0.5,
                "api_cpu_us_per_bid": 1.0,
            }
        },
        12: {
            "ledger": {
                "inclusion_proof_hashes_max": 1,
                "verify_s": 0.5,
                "api_cpu_us_per_bid": 50.1,
            }
        },
    }
    for index, change in misses.items():
        verdict = by_verdict(a_run(**change))
        assert verdict[index] == NOT_MET, (index, verdict)
        assert verdict.count(NOT_MET) == 1, (index, verdict)


def test_the_sniping_row_needs_the_watchers_figure_too() -> None:
    rows = verdicts(a_run(sniping={"early_refused_not_live": 0}))
    assert rows[6]["verdict"] == NOT_MEASURED


def test_the_lambda_shaped_burst_fails_on_one_bid_refused_that_arrived_in_time() -> None:
    """Judged by the gateway's arrival stamp: a single in-time bid refused as not live is a
    miss; without the watchers' figure the row is not measured."""
    late = {
        "refused_not_live_though_arrived_before_ends_at": 1,
        "bid_to_all_watchers": {"p99_ms": 5.0},
    }
    assert by_verdict(a_run(sniping_lambda=late))[7] == NOT_MET
    unseen = {"refused_not_live_though_arrived_before_ends_at": 0}
    assert by_verdict(a_run(sniping_lambda=unseen))[7] == NOT_MEASURED


def test_the_ledger_row_holds_both_figures_to_their_limits() -> None:
    assert by_verdict(a_run(ledger={"inclusion_proof_hashes_max": 9, "verify_s": 1.01}))[11] == (
        NOT_MET
    )
    assert by_verdict(a_run(ledger={"inclusion_proof_hashes_max": 9}))[11] == NOT_MEASURED


def test_memory_falls_back_to_the_two_node_run() -> None:
    run = a_run(fan_out={})
    run["fan_out_two_nodes"]["rss_per_idle_connection_kib"] = 30.0
    assert by_verdict(run)[9] == NOT_MET


def test_the_cpu_rows_say_the_servers_figures_beside_the_handlers() -> None:
    rows = verdicts(a_run())
    assert rows[0]["measured"] == "600 µs (through the local server: 1,200 µs)"
    assert rows[1]["measured"] == "500 / 1,000 µs (through the local server: 800 / 2,900 µs)"


def test_a_hot_auction_run_whose_server_answered_5xx_is_not_met() -> None:
    """The floor once answered 500 to every request (its models did not resolve) and the
    bench measured the errors' speed: a run with 5xx answers is no measurement."""
    run = a_run()
    hot = run["hot_auction"]["as_is"]
    broken = {**hot["32"], "http_floor": {**hot["32"]["http_floor"], "statuses": {"500": 7}}}
    rows = verdicts(a_run(hot_auction={"as_is": {**hot, "32": broken}}))
    assert rows[2]["verdict"] == NOT_MET
    assert rows[2]["measured"].endswith("but 7 answers were 5xx")
    assert [r["verdict"] for r in rows].count(NOT_MET) == 1
