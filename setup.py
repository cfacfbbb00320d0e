# Metadata lives in pyproject.toml; setup.py exists because cffi_modules is a setup() keyword.
from setuptools import setup

setup(cffi_modules=["native/ffi_build.py:ffibuilder"])
