"""The one exception a user can fix: recipes turn it into one line on stderr and exit status 2."""


class UsageError(Exception):
    """Bad input (a missing file, an unknown column or model, no network for a hub name...)."""
