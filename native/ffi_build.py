"""Builds the `appliance._engine` extension: the C core and its cffi declarations.

The declarations live in native/cdef/, one file per C module; cffi's API mode compiles
them against the real headers, so a declaration that drifts from its header fails the
build instead of corrupting memory at run time.
"""
import glob
import os

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
CDEF_ORDER = ["common", "toneplan", "board", "callerid", "dtmfgen", "playback", "engine", "bench"]

ffibuilder = FFI()
for name in CDEF_ORDER:
    with open(os.path.join(HERE, "cdef", name + ".h"), encoding="utf-8") as f:
        ffibuilder.cdef(f.read())

ffibuilder.set_source(
    "appliance._engine",
    '#include "engine.h"\n#include "board_sim.h"\n#include "board_dahdi.h"\n#include "toneplan.h"\n#include "bench.h"\n',
    sources=sorted(os.path.relpath(p) for p in glob.glob(os.path.join(HERE, "*.c"))),
    include_dirs=[os.path.relpath(HERE)],
    libraries=["spandsp", "pri", "openr2", "m"],
    # The engine's tick calls across modules for every channel every 20 ms: link-time
    # optimisation inlines those calls, and hidden visibility lets it (only the module's
    # init function, which Python marks for export itself, leaves the library), so they
    # are plain calls rather than trips through the PLT. -O3 for the loops over frames.
    # No -march: the extension must run on any x86-64.
    extra_compile_args=["-std=gnu11", "-O3", "-Wall", "-flto", "-fvisibility=hidden"],
    extra_link_args=["-O3", "-flto=auto", "-fvisibility=hidden"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
