//! chatan renders conditional templates exactly as Jinja does: `jinja/fixture.json` holds
//! templates rendered by the real `jinja2` package (`jinja/make_fixture.py`, rerun with
//! `--check` in CI), and each is parsed and rendered here with the same values.

use chatan_template::{Condition, LiteralValue, Node, Operand, parse};
use serde_json::Value;

fn lookup<'a>(context: &'a Value, path: &[String]) -> &'a Value {
    path.iter().fold(context, |v, key| &v[key])
}

fn operand(context: &Value, o: &Operand) -> Value {
    match o {
        Operand::Ref(r) => lookup(context, &r.path).clone(),
        Operand::Literal(l) => match &l.value {
            LiteralValue::Str(s) => Value::from(s.as_str()),
            LiteralValue::Int(n) => Value::from(n.parse::<i64>().unwrap()),
            LiteralValue::Float(n) => Value::from(n.parse::<f64>().unwrap()),
            LiteralValue::Bool(b) => Value::from(*b),
        },
    }
}

/// Python's truth.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn order(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn test(context: &Value, c: &Condition) -> bool {
    match c {
        Condition::Truthy(o) => truthy(&operand(context, o)),
        Condition::Compare {
            left, op, right, ..
        } => op.holds(order(&operand(context, left), &operand(context, right))),
        Condition::In {
            item,
            list,
            negated,
            ..
        } => {
            let v = operand(context, item);
            let found = list.iter().any(|l| {
                order(&v, &operand(context, &Operand::Literal(l.clone())))
                    == Some(std::cmp::Ordering::Equal)
            });
            found != *negated
        }
        Condition::Not(c) => !test(context, c),
        Condition::And(a, b) => test(context, a) && test(context, b),
        Condition::Or(a, b) => test(context, a) || test(context, b),
    }
}

fn render(context: &Value, nodes: &[Node], out: &mut String) {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Ref(r) => match lookup(context, &r.path) {
                Value::String(s) => out.push_str(s),
                other => out.push_str(&other.to_string()),
            },
            Node::If(c) => match c.branches.iter().find(|b| test(context, &b.condition)) {
                Some(b) => render(context, &b.body, out),
                None => render(context, &c.otherwise, out),
            },
        }
    }
}

#[test]
fn every_case_renders_as_jinja2_renders_it() {
    let fixture: Value =
        serde_json::from_str(include_str!("jinja/fixture.json")).expect("fixture.json");
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 20);
    for case in cases {
        let template = case["template"].as_str().unwrap();
        let parsed = parse(template).unwrap_or_else(|e| panic!("{template:?}: {e:?}"));
        let mut out = String::new();
        render(&case["context"], &parsed.nodes, &mut out);
        assert_eq!(
            out,
            case["rendered"].as_str().unwrap(),
            "\ntemplate: {template:?}\ncontext: {}",
            case["context"]
        );
    }
}
