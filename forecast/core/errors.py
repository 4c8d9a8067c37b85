"""One family of errors, so the CLI can print one clear line for anything the user can fix."""

MAX_MESSAGE = 400  # characters of an error line: a message never repeats a huge value in full


def one_line(text: object, limit: int = MAX_MESSAGE) -> str:
    """`text` on one line, cut in the middle when longer than `limit` characters."""
    flat = " ".join(str(text).split())
    if len(flat) <= limit:
        return flat
    half = limit // 2
    return f"{flat[:half]} ...[{len(flat) - 2 * half} characters cut]... {flat[-half:]}"


class ForecastError(Exception):
    """Base class: a problem the user can fix; the message says what, where and what to do."""


class DataError(ForecastError):
    """Bad input data: wrong file, unknown force, negative counts, missing quarter, corrupt file."""


class SpecError(ForecastError):
    """Bad model specification (unknown key, bad value), raised before any compilation."""


class DiagnosticsError(ForecastError):
    """A fit failed the convergence gates it was asked to pass."""


class ExportError(ForecastError):
    """Results cannot be written where asked (exists without --force, bad format)."""


class Interrupted(KeyboardInterrupt):
    """The run was stopped (Ctrl-C, SIGTERM) before it finished: nothing was written or cached."""


class ForecastWarning(UserWarning):
    """Statistical caveats worth a user's attention (e.g. low ESS) that do not stop the run."""


def _scalar(value: object) -> bool:
    """A value short enough to quote in a one-line message (not a table or a list)."""
    return isinstance(value, str | int | float | bool) and len(repr(value)) <= 40


def format_validation_error(err, where: str) -> str:
    """One line for a pydantic ValidationError (spec, scenario, sampler settings): per problem the
    key, the value given (when it is a scalar) and the rule."""
    parts = []
    for e in err.errors():
        key = ".".join(str(x) for x in e["loc"])
        if e["type"] == "extra_forbidden":
            parts.append(f"unknown key {key!r} (check its spelling against models/default.toml)")
        elif key:
            shown = f" {e['input']!r}" if _scalar(e.get("input")) else ""
            parts.append(f"bad value{shown} for {key!r}: {e['msg'].removeprefix('Value error, ')}")
        else:
            parts.append(e["msg"].removeprefix("Value error, "))
    return f"{where}: " + "; ".join(parts)
