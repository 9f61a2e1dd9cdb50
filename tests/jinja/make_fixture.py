"""Renders chatan's conditional templates with the real `jinja2` package, so the Rust
tests can check that chatan renders exactly what Jinja renders.

Besides `fixture.json` it writes `tests/tests/integration/jinja.rs`: each case as a
recipe (`dataset!`) whose static columns hold the case's values and whose generated
column has the case's template, checked by the runtime's own preview, so the fixture
runs through the macro's conditions and the renderer every run uses.

chatan writes references as `{column}` (Jinja: `{{ column }}`); blocks, comments and
whitespace control are Jinja's own. Each case is converted and rendered with
`jinja2.Environment(keep_trailing_newline=True)` (chatan never drops a template's last
newline).

    python3 make_fixture.py          # writes fixture.json and the Rust test
    python3 make_fixture.py --check  # fails if either differs from a fresh render
"""

import json
import re
import sys
from pathlib import Path

import jinja2

SEED = """
        {%- if dataset_type == "kernelbench" -%}
        write a prompt asking for a Triton kernel for: {operation}
        {%- else -%}
        write a question asking for this code to be written as a Triton kernel: {original_code}
        {%- endif -%}
        """

CASES = [
    (SEED, {"dataset_type": "kernelbench", "operation": "matmul", "original_code": "x + y"}),
    (SEED, {"dataset_type": "kernelbook", "operation": "matmul", "original_code": "def f(x):\n    return x"}),
    ("a {% if x %} yes {% else %} no {% endif %} b\n", {"x": True}),
    ("a {% if x %} yes {% else %} no {% endif %} b\n", {"x": False}),
    ("a\n  {%- if x %}\n  yes\n  {% endif -%}\n  b", {"x": True}),
    ("a\n  {%- if x %}\n  yes\n  {% endif -%}\n  b", {"x": False}),
    ("{% if n > 10 %}big{% elif n > 5 %}mid{% if odd %} odd{% endif %}{% else %}small{% endif %}", {"n": 11, "odd": True}),
    ("{% if n > 10 %}big{% elif n > 5 %}mid{% if odd %} odd{% endif %}{% else %}small{% endif %}", {"n": 7, "odd": True}),
    ("{% if n > 10 %}big{% elif n > 5 %}mid{% if odd %} odd{% endif %}{% else %}small{% endif %}", {"n": 7, "odd": False}),
    ("{% if n > 10 %}big{% elif n > 5 %}mid{% if odd %} odd{% endif %}{% else %}small{% endif %}", {"n": 2, "odd": True}),
    ("{% if n == 3 %}={% endif %}{% if n != 3 %}!={% endif %}{% if n < 3 %}<{% endif %}{% if n <= 3 %}<={% endif %}{% if n > 3 %}>{% endif %}{% if n >= 3 %}>={% endif %}", {"n": 3}),
    ("{% if n == 3 %}={% endif %}{% if n != 3 %}!={% endif %}{% if n < 3 %}<{% endif %}{% if n <= 3 %}<={% endif %}{% if n > 3 %}>{% endif %}{% if n >= 3 %}>={% endif %}", {"n": 4}),
    ("{% if lang in [\"rust\", 'go'] and not (level > 2 or draft) %}ok{% else %}no{% endif %}", {"lang": "go", "level": 1, "draft": False}),
    ("{% if lang in [\"rust\", 'go'] and not (level > 2 or draft) %}ok{% else %}no{% endif %}", {"lang": "go", "level": 3, "draft": False}),
    ("{% if lang not in [\"rust\", 'go'] %}other{% endif %}", {"lang": "c"}),
    ("{% if ratio >= 0.5 %}high{% else %}low{% endif %} {ratio}", {"ratio": 0.25}),
    ("{# a comment {x} #}kept{#- trimmed -#}   \n  too", {}),
    ("  {%- if a -%}  \n  A  \n  {%- elif b -%}  B  {%- else -%}  C  {%- endif -%}  \n", {"a": False, "b": True}),
    ("line one\n{% if a %}\nline two\n{% endif %}\nline three\n", {"a": True}),
    ("{% if name %}Hi {name}{% endif %}{% if not name %}Hi stranger{% endif %}", {"name": ""}),
]


def to_jinja(template):
    """`{column}` → `{{ column }}`; `{{` / `}}` are chatan's literal braces."""
    out = []
    i = 0
    while i < len(template):
        two = template[i : i + 2]
        if two in ("{%", "{#"):
            end = template.index("%}" if two == "{%" else "#}", i) + 2
            out.append(template[i:end])
            i = end
        elif two == "{{":
            out.append("{{ '{' }}")
            i += 2
        elif two == "}}":
            out.append("{{ '}' }}")
            i += 2
        elif template[i] == "{":
            end = template.index("}", i)
            out.append("{{ " + template[i + 1 : end].strip() + " }}")
            i = end + 1
        else:
            out.append(template[i])
            i += 1
    return "".join(out)


def render_all():
    env = jinja2.Environment(keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    cases = []
    for template, context in CASES:
        jinja = to_jinja(template)
        rendered = env.from_string(jinja).render(**context)
        cases.append({"template": template, "jinja": jinja, "context": context, "rendered": rendered})
    return {"jinja2": jinja2.__version__, "cases": cases}


def raw(text):
    """`text` as a Rust raw string literal."""
    hashes = "#"
    while '"' + hashes in text:
        hashes += "#"
    return f'r{hashes}"{text}"{hashes}'


def value(v):
    """A JSON value as a static column: its Rust type and its literal."""
    if isinstance(v, bool):
        return "bool", "true" if v else "false"
    if isinstance(v, int):
        return "i64", str(v)
    if isinstance(v, float):
        return "f64", repr(v)
    if isinstance(v, str):
        return "String", raw(v)
    raise SystemExit(f"no static column for {v!r}")


def rust_test(fixture):
    lines = [
        "//! Written by `tests/jinja/make_fixture.py` from its `fixture.json`",
        "//! (templates rendered by the real jinja2); do not edit. Each case is a recipe whose",
        "//! static columns hold the case's values, and the runtime's preview must render the",
        "//! generated column's prompt exactly as jinja2 rendered the template.",
        "",
        "use chatan_mock::MockConfig;",
        "",
    ]
    checks = []
    for n, case in enumerate(fixture["cases"]):
        name = f"Case{n:02}"
        lines.append("chatan::dataset! {")
        lines.append(f"    struct {name} {{")
        for column, v in case["context"].items():
            ty, literal = value(v)
            lines.append(f"        {column}: {ty} = {literal},")
        lines.append(f"        prompt: String = gen({raw(case['template'])}),")
        lines.append("    }")
        lines.append("}")
        lines.append("")
        checks.append(f"    assert_renders({name}::runner(&llm).preview(1), {raw(case['rendered'])});")
    lines += [
        "fn assert_renders(preview: Result<chatan::runner::Preview, chatan::Error>, jinja2: &str) {",
        "    let preview = preview.expect(\"the preview\");",
        "    let prompt = preview.rows[0].prompt(\"prompt\").expect(\"the prompt\");",
        "    assert!(prompt.exact, \"a prompt of static columns is exact\");",
        "    assert_eq!(prompt.prompt, jinja2);",
        "}",
        "",
        "#[tokio::test]",
        "async fn every_case_renders_as_jinja2_renders_it() {",
        "    let (server, llm) = tests::openai_mock(MockConfig::new()).await;",
        *checks,
        "    assert!(server.exchanges().is_empty());",
        "}",
    ]
    return "\n".join(lines) + "\n"


def main():
    path = Path(__file__).with_name("fixture.json")
    test = Path(__file__).resolve().parents[1] / "tests/integration/jinja.rs"
    fresh = render_all()
    code = rust_test(fresh)
    if "--check" in sys.argv:
        committed = json.loads(path.read_text())
        if committed["cases"] != fresh["cases"]:
            sys.exit(f"{path} differs from what jinja2 {jinja2.__version__} renders; rerun make_fixture.py")
        if test.read_text() != code:
            sys.exit(f"{test} differs from what make_fixture.py writes; rerun it")
        print(f"jinja2 {jinja2.__version__} renders all {len(fresh['cases'])} cases as {path.name} and {test.name} record")
        return
    path.write_text(json.dumps(fresh, indent=1, ensure_ascii=False) + "\n")
    test.write_text(code)
    print(f"wrote {len(fresh['cases'])} cases to {path} and {test}")


main()
