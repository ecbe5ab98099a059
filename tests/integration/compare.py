"""Comparisons of whole output files that fail fast, with a short message.

A bare `assert got == expected` on megabytes of rows is fine while it holds,
but when it fails pytest explains it: with -v, or whenever the CI or
BUILD_NUMBER environment variable is set, it runs difflib over a pretty-print
of both sides, which is quadratic and took over an hour on one 1.5 MB file.
These helpers compare first and, on a difference, name the file and the
first line that differs.
"""


def first_difference(expected, got):
    """Where two texts (bytes or str) first differ, by line, for a message."""
    nl = b"\n" if isinstance(expected, bytes) else "\n"
    a, b = expected.split(nl), got.split(nl)
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"line {i + 1}:\n  expected: {x[:400]!r}\n  got:      {y[:400]!r}"
    return f"expected {len(a)} lines, got {len(b)}"


def assert_same_text(got, expected, what="output"):
    """Asserts two whole texts are equal; names the first differing line."""
    if got != expected:
        raise AssertionError(f"{what} differs at {first_difference(expected, got)}")


def assert_same_files(got, expected, what="outputs"):
    """Asserts two {name: content} maps hold the same names and contents."""
    if set(got) != set(expected):
        raise AssertionError(f"{what}: expected files {sorted(expected)}, got {sorted(got)}")
    for name in sorted(expected):
        assert_same_text(got[name], expected[name], f"{what}: {name}")


def assert_same_list(got, expected, what="list"):
    """Asserts two long lists are equal; names the first differing index."""
    got, expected = list(got), list(expected)
    for i, (x, y) in enumerate(zip(expected, got)):
        if x != y:
            raise AssertionError(f"{what} differs at index {i}: expected {x!r:.400}, got {y!r:.400}")
    if len(got) != len(expected):
        raise AssertionError(f"{what}: expected {len(expected)} items, got {len(got)}")
