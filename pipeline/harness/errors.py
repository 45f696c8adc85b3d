"""The one exception a user can fix: recipes turn it into one line on stderr and exit status 2."""


class UsageError(Exception):
    """Bad input (a missing file, an unknown column or model, no network for a hub name...)."""


def check_options(checks: list[tuple[bool, str]]) -> None:
    """Raise a UsageError for the first check that fails: options are checked where they are declared."""
    for ok, message in checks:
        if not ok:
            raise UsageError(message)
