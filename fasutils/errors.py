"""The one exception type users see: a problem they can fix, stated with its remedy."""


class FasError(Exception):
    """A user-fixable problem. Its message names the thing at fault and what to do about it.

    The command line prints the message alone (no traceback); notebooks show it as raised.
    """
