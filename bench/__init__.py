"""`make bench`: the platform's benchmark figures (see bench/__main__.py; configuration and
fixtures in bench/fixtures.py)."""
