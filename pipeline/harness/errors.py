"""The one exception a user can fix: recipes turn it into one line on stderr and exit status 2."""

import math


class UsageError(Exception):
    """Bad input (a missing file, an unknown column or model, no network for a hub name...)."""


def check_options(checks: list[tuple[bool, str]]) -> None:
    """Raise a UsageError for the first check that fails: options are checked where they are declared."""
    for ok, message in checks:
        if not ok:
            raise UsageError(message)


def check_finite(options: dict) -> None:
    """Every number among a recipe's options (and in its list options) is finite: nan and inf train nothing."""
    for name, value in options.items():
        for number in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(number, float) and not math.isfinite(number):
                raise UsageError(f"--{name} must be a finite number (got {number})")
