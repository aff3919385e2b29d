"""Searchers for scheduler tests: predictable configurations, recorded updates."""
import itertools


class CountingSearcher:
    """Hands out {'id': 0}, {'id': 1}, ... and records every update as
    (configuration, error, additional_info)."""

    def __init__(self):
        self.ids = itertools.count()
        self.updates = []

    def sample_configuration(self):
        return {'id': next(self.ids)}

    def update(self, config, error, additional_info=None):
        self.updates.append((dict(config), error, additional_info))
