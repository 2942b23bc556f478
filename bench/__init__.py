"""`make bench`: the figures of CONTRACT section 8 (see bench/__main__.py; configuration and
fixtures in bench/fixtures.py)."""
