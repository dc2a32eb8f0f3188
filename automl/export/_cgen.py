"""Small helpers that turn Python values into safe C (and Makefile/Markdown) text.

Structure lives in the jinja2 templates under ``firmware/templates``; values are
formatted here (like emlearn's ``cgen.py``). Every helper returns a
:class:`CText`, and the template environment refuses to print anything else
(see :func:`finalize`), so a user-derived string can only reach a generated file
after it went through one of these escapers.

Everything derived from user data (class, channel, feature and study names) is
treated as hostile: C string literals escape backslash, quote, control
characters, trigraph-forming ``??`` and every non-ASCII byte (as 3-digit octal
escapes of its UTF-8 encoding); comments are ASCII-only and cannot be closed or
nested; identifiers are ``[A-Za-z0-9_]``, prefixed, checked against C keywords
and de-duplicated.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "C_KEYWORDS",
    "CText",
    "c_byte_array_lines",
    "c_comment",
    "c_float",
    "c_identifier",
    "c_int",
    "c_string",
    "c_uint_type",
    "check_c_identifier",
    "escape_ascii",
    "finalize",
    "html_comment",
    "make_comment",
    "md_code",
    "plain_float",
    "unique_identifiers",
]

#: Keywords of C89 to C23 (and C++ keywords a header may meet when included from
#: TensorFlow Lite Micro's C++), none of which may be a generated identifier.
C_KEYWORDS: frozenset[str] = frozenset(
    """
    auto break case char const continue default do double else enum extern float
    for goto if inline int long register restrict return short signed sizeof
    static struct switch typedef union unsigned void volatile while
    _Alignas _Alignof _Atomic _Bool _Complex _Generic _Imaginary _Noreturn
    _Static_assert _Thread_local _BitInt _Decimal32 _Decimal64 _Decimal128
    alignas alignof bool constexpr false nullptr static_assert thread_local true
    typeof typeof_unqual
    asm catch class const_cast delete dynamic_cast explicit export friend mutable
    namespace new noexcept operator private protected public reinterpret_cast
    static_cast template this throw try typeid typename using virtual wchar_t
    char8_t char16_t char32_t concept consteval constinit co_await co_return
    co_yield decltype requires and and_eq bitand bitor compl not not_eq or or_eq
    xor xor_eq
    """.split()
)

_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# ISO C99 5.2.4.1: a conforming compiler need only accept string literals of
# 4095 characters (-pedantic warns beyond that: -Woverlength-strings).
_MAX_C_STRING_BYTES = 4095


class CText(str):
    """A string that is already safe to paste into a generated file."""

    __slots__ = ()


def finalize(value: object) -> object:
    """Jinja2 ``finalize`` hook: only :class:`CText` and ``int`` may be printed.

    Raises:
        TypeError: if a template prints a plain ``str``, ``float``, ``bool`` or
            anything else that was not formatted by a helper of this module.
    """
    if isinstance(value, CText):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    raise TypeError(
        f"templates may only print values formatted by automl.export._cgen "
        f"(CText or int); got {type(value).__name__} {value!r}"
    )


# --------------------------------------------------------------------- strings
def escape_ascii(text: str, *, quote: str = '"') -> str:
    """Escape ``text`` into printable ASCII using C escape sequences.

    Backslash and ``quote`` get a backslash; ``\\n``, ``\\t``, ``\\r`` their
    short escapes; other control characters, DEL and every byte of a non-ASCII
    character's UTF-8 encoding a 3-digit octal escape (3 digits, so a following
    digit is never absorbed, unlike ``\\x``); a ``?`` that follows a ``?``
    becomes ``\\?`` so no trigraph (``??=``, ``??/`` ...) can form.

    Args:
        text: any Python string.
        quote: the quote character to escape (``"`` for string literals, ``""``
            for none).

    Returns:
        Printable ASCII only (0x20..0x7e), no raw newline.
    """
    out: list[str] = []
    prev = ""
    for ch in text:
        if ch == "\\" or (quote and ch == quote):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "?" and prev == "?":
            out.append("\\?")
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.extend(f"\\{b:03o}" for b in ch.encode("utf-8", "surrogatepass"))
        prev = ch
    return "".join(out)


def c_string(text: str) -> CText:
    """Format ``text`` as a C99 string literal, quotes included.

    The literal compiles under ``-std=c99 -Wall -Wextra -Werror -pedantic`` and
    evaluates to the UTF-8 bytes of ``text``.

    Raises:
        ValueError: if ``text`` contains NUL (a C string would end there) or its
            UTF-8 encoding is longer than 4095 bytes (the C99 minimum limit).
    """
    if not isinstance(text, str):
        raise TypeError(f"c_string expects str, got {type(text).__name__} {text!r}")
    if "\0" in text:
        raise ValueError(f"{text!r} contains a NUL character, which a C string cannot hold")
    if len(text.encode("utf-8", "surrogatepass")) > _MAX_C_STRING_BYTES:
        raise ValueError(
            f"{text[:40]!r}... is {len(text.encode('utf-8', 'surrogatepass'))} bytes in UTF-8; "
            f"C99 compilers need only accept {_MAX_C_STRING_BYTES}"
        )
    return CText('"' + escape_ascii(text) + '"')


def _defang(text: str, pairs: Sequence[tuple[str, str]]) -> str:
    # Repeat until stable: replacing one occurrence can never create another
    # here because every replacement inserts a space, but loop to be certain.
    changed = True
    while changed:
        changed = False
        for bad, good in pairs:
            if bad in text:
                text = text.replace(bad, good)
                changed = True
    return text


def c_comment(text: str) -> CText:
    """Format ``text`` for use *inside* a C block comment (no delimiters added).

    The result is one line of printable ASCII (see :func:`escape_ascii`; ``"``
    is escaped too, so the text can be shown in quotes) that
    contains neither ``*/`` (which would end the comment) nor ``/*`` (which
    ``-Wcomment`` turns into an error under ``-Werror``).
    """
    return CText(_defang(escape_ascii(str(text)), (("*/", "* /"), ("/*", "/ *"))))


def make_comment(text: str) -> CText:
    """Format ``text`` for the rest of a Makefile ``#`` comment line.

    One line of printable ASCII; no raw newline, and every backslash is
    doubled, so the comment can neither end early nor continue onto the next
    line.
    """
    return CText(escape_ascii(str(text)))


def html_comment(text: str) -> CText:
    """Format ``text`` for use inside an HTML/Markdown ``<!-- -->`` comment.

    One line of printable ASCII without ``--`` or ``>`` (so ``-->`` cannot end
    the comment early).
    """
    return CText(_defang(escape_ascii(str(text)), (("--", "- -"), (">", "&gt;"))))


def md_code(text: str, *, table: bool = False) -> CText:
    """Format ``text`` as a Markdown inline code span.

    The content is escaped with :func:`escape_ascii` (one line, printable
    ASCII; quotes left alone) and fenced with more backticks than the longest
    run of backticks inside it, padded with spaces when needed.

    Args:
        text: any text.
        table: the span goes in a table cell: ``|`` becomes ``\\|`` (GitHub
            Markdown splits cells before it parses code spans).
    """
    body = escape_ascii(str(text), quote="")
    if table:
        body = body.replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    if body.startswith("`") or body.endswith("`") or not body.strip():
        body = f" {body} "
    return CText(f"{fence}{body}{fence}")


# --------------------------------------------------------------------- numbers
def c_float(value: float) -> CText:
    """Format ``value`` as a C ``float`` literal that round-trips float32 exactly.

    The value is first rounded to float32, then printed with ``%.9g`` (9
    significant digits identify every float32), with ``.0`` added when ``%g``
    gave an integer, and an ``f`` suffix: ``100.0f``, ``0.00392156886f``,
    ``-3.40282347e+38f``.

    Args:
        value: a finite number (Python or NumPy scalar).

    Raises:
        ValueError: if ``value`` is NaN, infinite, or overflows float32.
    """
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"cannot write non-finite value {x!r} as a C float literal")
    with np.errstate(over="ignore"):
        f32 = np.float32(x)
    if not np.isfinite(f32):
        raise ValueError(f"{x!r} overflows float32 (max 3.40282347e+38)")
    text = "%.9g" % float(f32)
    if not any(c in text for c in ".e"):
        text += ".0"
    return CText(text + "f")


def plain_float(value: float) -> CText:
    """Format a number for prose (README): ``%.9g`` of its float32, e.g. ``100``.

    Raises:
        ValueError: if ``value`` is not finite or overflows float32.
    """
    return CText(c_float(value)[:-1].removesuffix(".0"))


def c_int(value: int) -> CText:
    """Format an integer for a ``#define``: negatives are parenthesised.

    ``-128`` becomes ``(-128)`` so ``x-KP_ZERO_POINT`` cannot turn into
    ``x--128``.

    Raises:
        TypeError: if ``value`` is not an integer (``bool`` included).
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"c_int expects an int, got {type(value).__name__} {value!r}")
    v = int(value)
    return CText(f"({v})" if v < 0 else str(v))


def c_uint_type(max_value: int) -> CText:
    """Smallest ``<stdint.h>`` unsigned type that holds ``0..max_value``.

    Raises:
        ValueError: if ``max_value`` is negative or needs more than 32 bits.
    """
    if max_value < 0:
        raise ValueError(f"max_value must be >= 0, got {max_value}")
    for bits in (8, 16, 32):
        if max_value < 2**bits:
            return CText(f"uint{bits}_t")
    raise ValueError(f"{max_value} does not fit in uint32_t")


def c_byte_array_lines(data: bytes, *, per_line: int = 12, indent: str = "    ") -> list[CText]:
    """Format ``data`` as the lines of a C array initialiser.

    Args:
        data: the bytes, e.g. a ``.tflite`` flatbuffer.
        per_line: bytes per line (12 gives lines under 80 columns).
        indent: prefix of every line.

    Returns:
        ``ceil(len(data) / per_line)`` lines like ``"    0x1c, 0x00, ..."``;
        every line but the last ends with a comma.
    """
    if per_line < 1:
        raise ValueError(f"per_line must be >= 1, got {per_line}")
    chunks = [data[i : i + per_line] for i in range(0, len(data), per_line)]
    lines = [indent + ", ".join(f"0x{b:02x}" for b in chunk) for chunk in chunks]
    return [CText(line + ("," if i < len(lines) - 1 else "")) for i, line in enumerate(lines)]


# ----------------------------------------------------------------- identifiers
def check_c_identifier(name: str, *, what: str = "identifier") -> str:
    """Return ``name`` if it is a usable C identifier, else raise.

    Usable means ``[A-Za-z_][A-Za-z0-9_]*``, not a C/C++ keyword and not
    reserved for the implementation (``__x`` or ``_X``).

    Raises:
        ValueError: naming ``what`` and the offending value.
    """
    if not isinstance(name, str) or not _IDENT_RE.match(name):
        raise ValueError(f"{what} must match [A-Za-z_][A-Za-z0-9_]*; got {name!r} instead")
    if name in C_KEYWORDS:
        raise ValueError(f"{what} must not be a C or C++ keyword; got {name!r} instead")
    if name.startswith("__") or (len(name) > 1 and name[0] == "_" and name[1].isupper()):
        raise ValueError(f"{what} must not start with '__' or '_' + capital (reserved); got {name!r}")
    return name


def _ascii_word(text: str) -> str:
    """Fold ``text`` to ASCII (``über`` -> ``uber``) and collapse other runs to ``_``."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Za-z0-9]+", "_", folded).strip("_")


def c_identifier(name: str, *, prefix: str = "", upper: bool = False, fallback: str = "X") -> CText:
    """Make a C identifier from arbitrary text.

    Non-ASCII letters are folded to ASCII where Unicode allows (``über`` ->
    ``uber``), every other run of characters outside ``[A-Za-z0-9]`` becomes
    one ``_`` and leading/trailing ``_`` are dropped; an empty result is
    replaced by ``fallback``; ``prefix`` is prepended. A result that starts
    with a digit or is reserved (``__x``, ``_X``) gets ``fallback + "_"``
    prepended, and a C/C++ keyword gets a trailing ``_`` (``int`` -> ``int_``).

    Args:
        name: any text, e.g. a class name.
        prefix: prepended verbatim (should itself be a valid identifier part,
            e.g. ``"KP_CLASS_"``).
        upper: upper-case the result (for macros).
        fallback: used when nothing of ``name`` survives; must be a valid
            identifier start.

    Returns:
        A string matching ``[A-Za-z_][A-Za-z0-9_]*`` that is not a keyword.
    """
    word = _ascii_word(name) or fallback
    ident = prefix + word
    if upper:
        ident = ident.upper()
    if ident[0].isdigit() or ident.startswith("__") or (
        len(ident) > 1 and ident[0] == "_" and ident[1].isupper()
    ):
        ident = fallback + "_" + ident
    if ident in C_KEYWORDS:
        ident += "_"
    return CText(check_c_identifier(ident))


def unique_identifiers(
    names: Iterable[str], *, prefix: str = "", upper: bool = False, taken: Iterable[str] = ()
) -> list[CText]:
    """:func:`c_identifier` for each name, de-duplicated in order.

    A name whose identifier is already used (by an earlier name or by
    ``taken``) gets ``_2``, ``_3``, ... appended, the first free suffix, so
    ``["Jab", "jab", "JAB"]`` with ``upper=True`` gives
    ``["JAB", "JAB_2", "JAB_3"]``. Identifiers are compared case-sensitively,
    as C does.

    Args:
        names: the texts, e.g. class names in class-id order.
        prefix, upper: as for :func:`c_identifier`.
        taken: identifiers that are already in use elsewhere.

    Returns:
        One distinct identifier per name, same order.
    """
    used = set(taken)
    out: list[CText] = []
    for name in names:
        base = c_identifier(name, prefix=prefix, upper=upper)
        ident, n = base, 2
        while ident in used:
            ident = CText(f"{base}_{n}")
            n += 1
        used.add(ident)
        out.append(ident)
    return out
