"""Renders chatan's conditional templates with the real `jinja2` package, so the Rust
tests can check that chatan renders exactly what Jinja renders.

chatan writes references as `{column}` (Jinja: `{{ column }}`); blocks, comments and
whitespace control are Jinja's own. Each case is converted and rendered with
`jinja2.Environment(keep_trailing_newline=True)` (chatan never drops a template's last
newline).

    python3 make_fixture.py          # writes fixture.json
    python3 make_fixture.py --check  # fails if fixture.json differs from a fresh render
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


def main():
    path = Path(__file__).with_name("fixture.json")
    fresh = render_all()
    if "--check" in sys.argv:
        committed = json.loads(path.read_text())
        if committed["cases"] != fresh["cases"]:
            sys.exit(f"{path} differs from what jinja2 {jinja2.__version__} renders; rerun make_fixture.py")
        print(f"jinja2 {jinja2.__version__} renders all {len(fresh['cases'])} cases as {path.name} records")
        return
    path.write_text(json.dumps(fresh, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(fresh['cases'])} cases to {path}")


main()
