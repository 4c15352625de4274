"""The C part of the package: sfu._fanout (the send path, see docs/architecture.md).

Everything else is in pyproject.toml. The extension needs a C compiler and libsrtp2's
headers (Debian: gcc, libsrtp2-dev; scripts/setup.sh installs them); without them the build
goes on without it and the SFU forwards with the Python reference path (sfu/fanout.py).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "sfu._fanout",
            sources=["sfu/_fanout.c"],
            libraries=["srtp2"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter",
                                "-Wno-missing-field-initializers", "-Wno-cast-function-type"],
            optional=True,
        )
    ]
)
