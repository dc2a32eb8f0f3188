"""Unit tests of automl.export._cgen, the C text formatting helpers.

String and float literals are also checked by compiling them with the strict
host flags (-std=c99 enables trigraphs, so ``??=`` must not slip through).
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess

import numpy as np
import pytest

from automl.export import _cgen

GCC = shutil.which("gcc")
HOST_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]

NASTY = [
    'Jab"; system("x"); //',
    "*/ #include <x>",
    "a\nb",
    "int",
    "über",
    "??=??/??'??(??)??!??<??>??-",
    "???",
    "back\\slash\\",
    "tab\tcr\rdel\x7fbell\x07",
    "octal\x01" + "7 digits after escape",
    "日本語 ✓ 😀",
    "",
    "/* nested */ */",
    "'single'",
]


def _compile_and_run(tmp_path, source: str) -> bytes:
    src = tmp_path / "t.c"
    src.write_text(source, encoding="ascii")
    exe = tmp_path / "t"
    subprocess.run([GCC, *HOST_FLAGS, "-o", str(exe), str(src)], check=True, capture_output=True, text=True)
    return subprocess.run([str(exe)], check=True, capture_output=True, timeout=30).stdout


# ---------------------------------------------------------------- strings
@pytest.mark.parametrize("text", NASTY)
def test_c_string_is_printable_ascii_literal(text):
    lit = _cgen.c_string(text)
    assert isinstance(lit, _cgen.CText)
    assert lit.startswith('"') and lit.endswith('"')
    assert all(" " <= ch <= "~" for ch in lit)
    assert "??" not in lit
    # No unescaped quote inside.
    assert not re.search(r'(?<!\\)(?:\\\\)*"', lit[1:-1])


@pytest.mark.skipif(GCC is None, reason="gcc not on PATH")
def test_c_string_literals_compile_to_the_utf8_bytes(tmp_path):
    body = "\n".join(
        f'    dump({_cgen.c_string(s)}, sizeof({_cgen.c_string(s)}) - 1);' for s in NASTY
    )
    source = (
        "#include <stdio.h>\n#include <stddef.h>\n"
        "static void dump(const char *s, size_t n) {\n"
        "    size_t i;\n    for (i = 0; i < n; ++i) printf(\"%02x\", (unsigned int)(unsigned char)s[i]);\n"
        "    printf(\"\\n\");\n}\n"
        f"int main(void) {{\n{body}\n    return 0;\n}}\n"
    )
    lines = _compile_and_run(tmp_path, source).decode().splitlines()
    assert [bytes.fromhex(x) for x in lines] == [s.encode("utf-8") for s in NASTY]


def test_c_string_rejects_nul_and_overlong():
    with pytest.raises(ValueError, match="NUL"):
        _cgen.c_string("a\0b")
    with pytest.raises(ValueError, match="4095"):
        _cgen.c_string("x" * 4096)
    assert _cgen.c_string("x" * 4095)
    with pytest.raises(TypeError):
        _cgen.c_string(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", NASTY)
def test_comment_helpers_cannot_be_closed(text):
    c = _cgen.c_comment(text)
    assert "*/" not in c and "/*" not in c and "\n" not in c
    assert all(" " <= ch <= "~" for ch in c)
    m = _cgen.make_comment(text)
    assert "\n" not in m and all(" " <= ch <= "~" for ch in m)
    assert not re.search(r"(?<!\\)(?:\\\\)*\\$", m)  # no line-continuing backslash
    h = _cgen.html_comment(text)
    assert "--" not in h and ">" not in h and "\n" not in h


@pytest.mark.skipif(GCC is None, reason="gcc not on PATH")
def test_comments_compile_with_wcomment(tmp_path):
    lines = "\n".join(f"/* {_cgen.c_comment(s)} */" for s in NASTY)
    assert _compile_and_run(tmp_path, f"{lines}\nint main(void) {{ return 0; }}\n") == b""


def test_md_code_fences_backticks_and_pipes():
    assert _cgen.md_code("a`b") == "``a`b``"
    assert _cgen.md_code("`x`") == "`` `x` ``"
    assert _cgen.md_code("a|b", table=True) == "`a\\|b`"
    assert _cgen.md_code("a\nb") == "`a\\nb`"


# ---------------------------------------------------------------- identifiers
@pytest.mark.parametrize(
    ("name", "kwargs", "expected"),
    [
        ("jab", {}, "jab"),
        ("int", {}, "int_"),
        ("while", {}, "while_"),
        ("class", {}, "class_"),
        ("über", {}, "uber"),
        ('Jab"; system("x"); //', {"prefix": "KP_CLASS_", "upper": True}, "KP_CLASS_JAB_SYSTEM_X"),
        ("*/ #include <x>", {"prefix": "KP_CLASS_", "upper": True}, "KP_CLASS_INCLUDE_X"),
        ("3d-punch", {}, "X_3d_punch"),
        ("", {}, "X"),
        ("日本", {}, "X"),
        ("__init", {}, "init"),
        ("x", {"prefix": "_"}, "_x"),
        ("X", {"prefix": "_"}, "X__X"),
        ("y", {"prefix": "__"}, "X___y"),
    ],
)
def test_c_identifier(name, kwargs, expected):
    ident = _cgen.c_identifier(name, **kwargs)
    assert ident == expected
    assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", ident)
    assert ident not in _cgen.C_KEYWORDS


def test_unique_identifiers_deduplicate_in_order():
    got = _cgen.unique_identifiers(["Jab", "jab", "JAB", "jab 2", "über", "Über"], prefix="K_", upper=True)
    assert got == ["K_JAB", "K_JAB_2", "K_JAB_3", "K_JAB_2_2", "K_UBER", "K_UBER_2"]
    assert _cgen.unique_identifiers(["count"], prefix="K_", upper=True, taken=["K_COUNT"]) == ["K_COUNT_2"]


@pytest.mark.parametrize("bad", ["", "1a", "a-b", "int", "__x", "_X", None])
def test_check_c_identifier_rejects(bad):
    with pytest.raises(ValueError, match="prefix"):
        _cgen.check_c_identifier(bad, what="prefix")


# ---------------------------------------------------------------- numbers
def test_c_float_format():
    assert _cgen.c_float(100) == "100.0f"
    assert _cgen.c_float(0.5) == "0.5f"
    assert _cgen.c_float(-0.0) == "-0.0f"
    assert _cgen.c_float(0.1) == "0.100000001f"
    assert _cgen.c_float(1e10) == "1e+10f"
    assert _cgen.c_float(np.float32(3.4028235e38)) == "3.40282347e+38f"
    assert _cgen.plain_float(100.0) == "100"
    for bad in (float("nan"), float("inf"), 1e39):
        with pytest.raises(ValueError):
            _cgen.c_float(bad)


@pytest.mark.skipif(GCC is None, reason="gcc not on PATH")
def test_c_float_round_trips_float32_bits_through_the_compiler(tmp_path):
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2**32, size=300, dtype=np.uint64).astype(np.uint32)
    values = bits.view(np.float32)
    values = values[np.isfinite(values)]
    extra = np.array([0.0, -0.0, 1e-45, 1.17549435e-38, 3.4028235e38, 0.1, 1 / 3], dtype=np.float32)
    values = np.concatenate([values, extra])
    body = ",\n".join(f"    {_cgen.c_float(v)}" for v in values)
    source = (
        "#include <stdio.h>\n#include <string.h>\n#include <stdint.h>\n"
        f"static const float v[] = {{\n{body}\n}};\n"
        "int main(void) {\n    size_t i;\n    for (i = 0; i < sizeof v / sizeof v[0]; ++i) {\n"
        "        uint32_t b;\n        memcpy(&b, &v[i], sizeof b);\n"
        '        printf("%08lx\\n", (unsigned long)b);\n    }\n    return 0;\n}\n'
    )
    got = [int(x, 16) for x in _compile_and_run(tmp_path, source).decode().split()]
    assert got == values.view(np.uint32).tolist()
    # and the Python-side parse of %.9g agrees too
    for v in values:
        parsed = np.float32(float(_cgen.c_float(v)[:-1]))
        assert struct.pack("<f", parsed) == struct.pack("<f", v)


def test_c_int_and_uint_type():
    assert _cgen.c_int(-128) == "(-128)" and _cgen.c_int(5) == "5"
    with pytest.raises(TypeError):
        _cgen.c_int(True)
    with pytest.raises(TypeError):
        _cgen.c_int(1.0)  # type: ignore[arg-type]
    assert [_cgen.c_uint_type(n) for n in (0, 255, 256, 65535, 65536)] == [
        "uint8_t", "uint8_t", "uint16_t", "uint16_t", "uint32_t"
    ]
    with pytest.raises(ValueError):
        _cgen.c_uint_type(2**32)


def test_c_byte_array_lines():
    data = bytes(range(256)) * 2
    lines = _cgen.c_byte_array_lines(data, per_line=12)
    assert len(lines) == -(-len(data) // 12)
    assert all(ln.endswith(",") for ln in lines[:-1]) and not lines[-1].endswith(",")
    assert lines[0] == "    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,"
    assert bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", "\n".join(lines))) == data
    assert _cgen.c_byte_array_lines(b"") == []


def test_finalize_only_lets_formatted_values_through():
    assert _cgen.finalize(_cgen.CText("x")) == "x"
    assert _cgen.finalize(3) == 3 and _cgen.finalize(np.int64(4)) == 4
    for raw in ("plain str", 1.5, True, None, ["x"]):
        with pytest.raises(TypeError, match="templates may only print"):
            _cgen.finalize(raw)
