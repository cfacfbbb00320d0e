"""The thin layer over the C engine: argument checks and C error codes as exceptions.

Rules: every C call that can fail goes through check(); nothing here keeps state of
its own. The idiomatic API is appliance.engine.
"""
from appliance._engine import ffi, lib

__all__ = ["ffi", "lib", "check", "EngineError", "ChannelError", "StateError", "ArgumentError",
           "PlanError", "PromptError", "KindError", "BoardError", "AudioError"]


class EngineError(Exception):
    """A command the engine refused; the engine itself goes on serving other channels."""

    code = None

    def __init__(self, message, code=None):
        super().__init__(message)
        if code is not None:
            self.code = code


class ChannelError(EngineError, LookupError):
    code = lib.ERR_CHANNEL


class StateError(EngineError):
    code = lib.ERR_STATE


class ArgumentError(EngineError, ValueError):
    code = lib.ERR_ARG


class PlanError(ArgumentError):
    code = lib.ERR_PLAN


class PromptError(EngineError, LookupError):
    code = lib.ERR_PROMPT


class KindError(EngineError):
    code = lib.ERR_KIND


class BoardError(EngineError):
    code = lib.ERR_BOARD


class AudioError(EngineError, ValueError):
    code = lib.ERR_AUDIO


_BY_CODE = {cls.code: cls for cls in (ChannelError, StateError, ArgumentError, PlanError, PromptError,
                                      KindError, BoardError, AudioError)}


def check(rc, engine_ptr=None, what=None):
    """Returns rc when it is not an error; raises the matching EngineError otherwise."""
    if rc >= 0:
        return rc
    detail = ""
    if engine_ptr is not None and engine_ptr != ffi.NULL:
        detail = ffi.string(lib.engine_error(engine_ptr)).decode("utf-8", "replace")
    if not detail:
        detail = ffi.string(lib.engine_strerror(rc)).decode()
        if what:
            detail = f"{what}: {detail}"
    raise _BY_CODE.get(rc, EngineError)(detail, rc)
