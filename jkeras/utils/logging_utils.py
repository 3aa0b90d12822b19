"""Interactive logging, as tf.keras 2 has it: messages go to stdout, or to Python logging when off.

Turn it off (`disable_interactive_logging()`) in a job whose stdout is collected as a log, so
that what jkeras's utilities print (downloads, "Found N images") arrives as log records.
"""
import logging
import sys
import threading

_STATE = threading.local()


def enable_interactive_logging():
    """Messages from jkeras's utilities are written to stdout (the default)."""
    _STATE.interactive = True


def disable_interactive_logging():
    """Messages from jkeras's utilities go to the `jkeras` logger at INFO level instead of stdout."""
    _STATE.interactive = False


def is_interactive_logging_enabled():
    """Whether messages are written to stdout (True) or to the `jkeras` logger (False)."""
    return getattr(_STATE, "interactive", True)


def print_msg(message, line_break=True):
    """Write `message` to stdout, or log it when interactive logging is off."""
    if is_interactive_logging_enabled():
        sys.stdout.write(message + ("\n" if line_break else ""))
        sys.stdout.flush()
    else:
        logging.getLogger("jkeras").info(message)
