"""One family of errors, so the CLI can print one clear line for anything the user can fix."""


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


class ForecastWarning(UserWarning):
    """Statistical caveats worth a user's attention (e.g. low ESS) that do not stop the run."""
