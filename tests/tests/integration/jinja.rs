//! Written by `tests/jinja/make_fixture.py` from its `fixture.json`
//! (templates rendered by the real jinja2); do not edit. Each case is a recipe whose
//! static columns hold the case's values, and the runtime's preview must render the
//! generated column's prompt exactly as jinja2 rendered the template.

use chatan_mock::MockConfig;

chatan::dataset! {
    struct Case00 {
        dataset_type: String = r#"kernelbench"#,
        operation: String = r#"matmul"#,
        original_code: String = r#"x + y"#,
        prompt: String = gen(r#"
        {%- if dataset_type == "kernelbench" -%}
        write a prompt asking for a Triton kernel for: {operation}
        {%- else -%}
        write a question asking for this code to be written as a Triton kernel: {original_code}
        {%- endif -%}
        "#),
    }
}

chatan::dataset! {
    struct Case01 {
        dataset_type: String = r#"kernelbook"#,
        operation: String = r#"matmul"#,
        original_code: String = r#"def f(x):
    return x"#,
        prompt: String = gen(r#"
        {%- if dataset_type == "kernelbench" -%}
        write a prompt asking for a Triton kernel for: {operation}
        {%- else -%}
        write a question asking for this code to be written as a Triton kernel: {original_code}
        {%- endif -%}
        "#),
    }
}

chatan::dataset! {
    struct Case02 {
        x: bool = true,
        prompt: String = gen(r#"a {% if x %} yes {% else %} no {% endif %} b
"#),
    }
}

chatan::dataset! {
    struct Case03 {
        x: bool = false,
        prompt: String = gen(r#"a {% if x %} yes {% else %} no {% endif %} b
"#),
    }
}

chatan::dataset! {
    struct Case04 {
        x: bool = true,
        prompt: String = gen(r#"a
  {%- if x %}
  yes
  {% endif -%}
  b"#),
    }
}

chatan::dataset! {
    struct Case05 {
        x: bool = false,
        prompt: String = gen(r#"a
  {%- if x %}
  yes
  {% endif -%}
  b"#),
    }
}

chatan::dataset! {
    struct Case06 {
        n: i64 = 11,
        odd: bool = true,
        prompt: String = gen(r#"{% if n > 10 %}big{% elif n > 5 %}mid{% if odd %} odd{% endif %}{% else %}small{% endif %}"#),
    }
}

chatan::dataset! {
    struct Case07 {
        n: i64 = 7,
        odd: bool = true,
        prompt: String = gen(r#"{% if n > 10 %}big{% elif n > 5 %}mid{% if odd %} odd{% endif %}{% else %}small{% endif %}"#),
    }
}

chatan::dataset! {
    struct Case08 {
        n: i64 = 7,
        odd: bool = false,
        prompt: String = gen(r#"{% if n > 10 %}big{% elif n > 5 %}mid{% if odd %} odd{% endif %}{% else %}small{% endif %}"#),
    }
}

chatan::dataset! {
    struct Case09 {
        n: i64 = 2,
        odd: bool = true,
        prompt: String = gen(r#"{% if n > 10 %}big{% elif n > 5 %}mid{% if odd %} odd{% endif %}{% else %}small{% endif %}"#),
    }
}

chatan::dataset! {
    struct Case10 {
        n: i64 = 3,
        prompt: String = gen(r#"{% if n == 3 %}={% endif %}{% if n != 3 %}!={% endif %}{% if n < 3 %}<{% endif %}{% if n <= 3 %}<={% endif %}{% if n > 3 %}>{% endif %}{% if n >= 3 %}>={% endif %}"#),
    }
}

chatan::dataset! {
    struct Case11 {
        n: i64 = 4,
        prompt: String = gen(r#"{% if n == 3 %}={% endif %}{% if n != 3 %}!={% endif %}{% if n < 3 %}<{% endif %}{% if n <= 3 %}<={% endif %}{% if n > 3 %}>{% endif %}{% if n >= 3 %}>={% endif %}"#),
    }
}

chatan::dataset! {
    struct Case12 {
        lang: String = r#"go"#,
        level: i64 = 1,
        draft: bool = false,
        prompt: String = gen(r#"{% if lang in ["rust", 'go'] and not (level > 2 or draft) %}ok{% else %}no{% endif %}"#),
    }
}

chatan::dataset! {
    struct Case13 {
        lang: String = r#"go"#,
        level: i64 = 3,
        draft: bool = false,
        prompt: String = gen(r#"{% if lang in ["rust", 'go'] and not (level > 2 or draft) %}ok{% else %}no{% endif %}"#),
    }
}

chatan::dataset! {
    struct Case14 {
        lang: String = r#"c"#,
        prompt: String = gen(r#"{% if lang not in ["rust", 'go'] %}other{% endif %}"#),
    }
}

chatan::dataset! {
    struct Case15 {
        ratio: f64 = 0.25,
        prompt: String = gen(r#"{% if ratio >= 0.5 %}high{% else %}low{% endif %} {ratio}"#),
    }
}

chatan::dataset! {
    struct Case16 {
        prompt: String = gen(r#"{# a comment {x} #}kept{#- trimmed -#}   
  too"#),
    }
}

chatan::dataset! {
    struct Case17 {
        a: bool = false,
        b: bool = true,
        prompt: String = gen(r#"  {%- if a -%}  
  A  
  {%- elif b -%}  B  {%- else -%}  C  {%- endif -%}  
"#),
    }
}

chatan::dataset! {
    struct Case18 {
        a: bool = true,
        prompt: String = gen(r#"line one
{% if a %}
line two
{% endif %}
line three
"#),
    }
}

chatan::dataset! {
    struct Case19 {
        name: String = r#""#,
        prompt: String = gen(r#"{% if name %}Hi {name}{% endif %}{% if not name %}Hi stranger{% endif %}"#),
    }
}

fn assert_renders(preview: Result<chatan::runner::Preview, chatan::Error>, jinja2: &str) {
    let preview = preview.expect("the preview");
    let prompt = preview.rows[0].prompt("prompt").expect("the prompt");
    assert!(prompt.exact, "a prompt of static columns is exact");
    assert_eq!(prompt.prompt, jinja2);
}

#[tokio::test]
async fn every_case_renders_as_jinja2_renders_it() {
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    assert_renders(Case00::runner(&llm).preview(1), r#"write a prompt asking for a Triton kernel for: matmul"#);
    assert_renders(Case01::runner(&llm).preview(1), r#"write a question asking for this code to be written as a Triton kernel: def f(x):
    return x"#);
    assert_renders(Case02::runner(&llm).preview(1), r#"a  yes  b
"#);
    assert_renders(Case03::runner(&llm).preview(1), r#"a  no  b
"#);
    assert_renders(Case04::runner(&llm).preview(1), r#"a
  yes
  b"#);
    assert_renders(Case05::runner(&llm).preview(1), r#"ab"#);
    assert_renders(Case06::runner(&llm).preview(1), r#"big"#);
    assert_renders(Case07::runner(&llm).preview(1), r#"mid odd"#);
    assert_renders(Case08::runner(&llm).preview(1), r#"mid"#);
    assert_renders(Case09::runner(&llm).preview(1), r#"small"#);
    assert_renders(Case10::runner(&llm).preview(1), r#"=<=>="#);
    assert_renders(Case11::runner(&llm).preview(1), r#"!=>>="#);
    assert_renders(Case12::runner(&llm).preview(1), r#"ok"#);
    assert_renders(Case13::runner(&llm).preview(1), r#"no"#);
    assert_renders(Case14::runner(&llm).preview(1), r#"other"#);
    assert_renders(Case15::runner(&llm).preview(1), r#"low 0.25"#);
    assert_renders(Case16::runner(&llm).preview(1), r#"kepttoo"#);
    assert_renders(Case17::runner(&llm).preview(1), r#"B"#);
    assert_renders(Case18::runner(&llm).preview(1), r#"line one

line two

line three
"#);
    assert_renders(Case19::runner(&llm).preview(1), r#"Hi stranger"#);
    assert!(server.exchanges().is_empty());
}
