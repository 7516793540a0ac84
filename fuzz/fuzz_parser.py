"""Coverage-guided fuzzing of the expression language (atheris): `make fuzz`."""
import sys

import atheris

with atheris.instrument_imports():
    import harness


def one(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    harness.check_expression(provider.ConsumeUnicodeNoSurrogates(len(data)))


if __name__ == "__main__":
    atheris.Setup(sys.argv, one)
    atheris.Fuzz()
